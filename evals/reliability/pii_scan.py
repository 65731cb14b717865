"""Find personal data that escaped masking: mainland mobile numbers and resident ID card numbers.

Run it over whatever the service wrote where staff or operators read it: log files, error
reports, CSV/JSON exports, screenshots' text dumps::

    python -m evals.reliability.pii_scan var/logs/ reports/exports/overview.csv

It prints one line per file with hits (``mobile=N id_card=M``), a total, and exits 1 when
anything was found, so CI can gate on it. Hits are shown masked (``139****5678``): the scanner's
own output must not become the leak. Folders are walked recursively; ``.gz`` files are read
through gzip; files that look binary (a NUL byte early on) are skipped.

What counts as a hit:

- a mobile number: ``1[3-9]`` and nine more digits, not inside a longer run of digits or letters
  (a hex id holds such runs), also
  written ``+86 139 1234 5678`` / ``139-1234-5678`` (masking must catch those spellings too), and
  also right after an escape sequence (a logged ``repr`` of bytes, JSON with ``\\uXXXX``);
- an ID card number (GB 11643-1999): 17 digits and a check character, not inside a longer run of
  digits or letters, whose birth-date part is a real date and whose check character matches the
  ISO 7064 MOD 11-2 checksum. Eighteen random digits pass both about once in 20,000, which
  keeps order numbers and timestamps from drowning the report.

Masked forms (``139****5678``, ``110***********123X``) never match: a star breaks the digit run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from tools.masking import mask_id_card, mask_phone

# Logs quote bytes (``b'\xe7\xa0\x8113987654321'``) and escaped JSON (``"\u780113987654321"``): a
# digit that ends an escape sequence does not make the number part of a longer run.
_AFTER_ESCAPE = r"(?<=\\x[0-9a-fA-F]{2})|(?<=\\u[0-9a-fA-F]{4})"
# Not inside a longer letter-and-digit token: a hex id such as ``97d5f089f15146848948d4c0`` holds
# ``15146848948`` (a random message id failed the PII test that way).
MOBILE = re.compile(
    rf"(?:(?<![0-9A-Za-z])|{_AFTER_ESCAPE})(?:\+?86[ -]?)?"
    r"(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?![0-9A-Za-z])"
)
ID_CARD = re.compile(
    rf"(?:(?<![0-9A-Za-z])|{_AFTER_ESCAPE})(\d{{6}})(\d{{4}})(\d{{2}})(\d{{2}})(\d{{3}})([\dXx])(?![0-9A-Za-z])"
)
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_BINARY_PROBE = 8192
KINDS = ("mobile", "id_card")


def id_check_char(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def is_valid_id_card(number: str) -> bool:
    match = ID_CARD.fullmatch(number)
    if match is None:
        return False
    year, month, day = (int(match.group(i)) for i in (2, 3, 4))
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    if not 1900 <= born.year <= date.today().year:
        return False
    return id_check_char(number[:17]) == number[17].upper()


@dataclass(frozen=True)
class Hit:
    kind: str
    line: int
    masked: str


@dataclass
class FileReport:
    path: str
    hits: list[Hit] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for hit in self.hits if hit.kind == kind)


def find_pii(text: str) -> Iterator[tuple[str, str]]:
    """(kind, the matched text) for every unmasked mobile or valid ID card number in ``text``."""
    for match in ID_CARD.finditer(text):
        if is_valid_id_card(match.group(0)):
            yield "id_card", match.group(0)
    for match in MOBILE.finditer(text):
        yield "mobile", "".join(match.groups())


def _lines(path: Path) -> Iterator[str] | None:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        if b"\0" in handle.read(_BINARY_PROBE):
            return None
    return _read(path, opener)


def _read(path: Path, opener: object) -> Iterator[str]:
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:  # type: ignore[operator]
        yield from handle


def scan_file(path: Path) -> FileReport | None:
    """The file's hits, or None when it looks binary."""
    lines = _lines(path)
    if lines is None:
        return None
    report = FileReport(str(path))
    for number, line in enumerate(lines, start=1):
        for kind, value in find_pii(line):
            masked = mask_phone(value) if kind == "mobile" else mask_id_card(value)
            report.hits.append(Hit(kind, number, masked))
    return report


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            yield path
        else:
            raise FileNotFoundError(path)


def scan_paths(paths: Iterable[Path]) -> list[FileReport]:
    """A report for every readable text file under ``paths`` (binary files are left out)."""
    return [report for file in iter_files(paths) if (report := scan_file(file)) is not None]


def total_hits(reports: Sequence[FileReport]) -> dict[str, int]:
    return {kind: sum(r.count(kind) for r in reports) for kind in KINDS}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.reliability.pii_scan",
        description="扫描日志、错误报告和导出文件中未脱敏的手机号和身份证号",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="files or folders (recursive)")
    parser.add_argument("--show", action="store_true", help="list each hit (masked) with its line")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead")
    args = parser.parse_args(argv)
    try:
        reports = scan_paths(args.paths)
    except FileNotFoundError as missing:
        parser.error(f"no such file or folder: {missing}")
    totals = total_hits(reports)
    if args.json:
        files = {r.path: {kind: r.count(kind) for kind in KINDS} for r in reports}
        print(json.dumps({"files_scanned": len(reports), "totals": totals, "files": files}, indent=2))
    else:
        for report in reports:
            if report.hits:
                print(f"{report.path}\tmobile={report.count('mobile')}\tid_card={report.count('id_card')}")
                if args.show:
                    for hit in report.hits:
                        print(f"  line {hit.line}: {hit.kind} {hit.masked}")
        print(f"scanned {len(reports)} files\tmobile={totals['mobile']}\tid_card={totals['id_card']}")
    return 1 if any(totals.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
