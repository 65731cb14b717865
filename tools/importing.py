"""CSV import for residents, bills and workers: all rows validated before any is written.

Each bad row is reported with its line number (the header is line 1) and a Chinese reason naming
the column; if any row is bad nothing is written and the caller rolls back. Re-importing a file
updates rows by their natural key (户号, 户号+采暖季, 工号) instead of duplicating them.
Files saved by Excel in China are often GBK, so GBK is tried when UTF-8 fails.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from tools.clock import Clock

Row = tuple[int, dict[str, str]]


@dataclass
class RowError:
    line: int
    reason: str


@dataclass
class ImportReport:
    kind: str
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class Importer:
    """One import kind: its columns, its row model, and how validated rows are written."""

    required: frozenset[str]
    optional: frozenset[str]
    row_model: type[BaseModel]
    key: Callable[[Any], tuple[str, ...]]
    # Checks rows against the database (unknown account, room taken) without writing.
    check: Callable[[AsyncSession, list[tuple[int, Any]]], Awaitable[list[RowError]]]
    # Writes valid rows; returns (created, updated).
    write: Callable[[AsyncSession, list[Any], Clock], Awaitable[tuple[int, int]]]


MAX_ROWS = 100_000
_FIELD_NAMES_ZH = {
    "account_no": "户号",
    "name": "姓名",
    "phone": "手机号",
    "id_card_no": "身份证号",
    "community": "小区",
    "district": "区",
    "building": "楼号",
    "unit": "单元",
    "room": "室",
    "heated_area": "供热面积",
    "kind": "用户类型",
    "status": "状态",
    "tags": "标签",
    "season": "采暖季",
    "suspended": "是否报停",
    "amount_paid": "已缴金额",
    "paid_on": "缴费日期",
    "code": "工号",
    "skills": "技能",
    "home_lat": "纬度",
    "home_lon": "经度",
    "shift_start": "上班时间",
    "shift_end": "下班时间",
    "active": "是否在岗",
    "lat": "纬度",
    "lon": "经度",
}


def _importers() -> dict[str, Importer]:
    from tools.billing.importer import BILLS
    from tools.crm.importer import RESIDENTS
    from tools.dispatch.importer import WORKERS

    return {"residents": RESIDENTS, "bills": BILLS, "workers": WORKERS}


def describe(error: ValidationError) -> str:
    reasons = []
    for item in error.errors():
        column = str(item["loc"][0]) if item.get("loc") else ""
        message = str(item.get("ctx", {}).get("error", "")) or item.get("msg", "")
        message = message.removeprefix("Value error, ")
        if item.get("type") == "missing":
            message = "不能为空"
        reasons.append(f"{_FIELD_NAMES_ZH.get(column, column)}（{column}）{message}")
    return "；".join(reasons)


async def import_rows(session: AsyncSession, *, kind: str, rows: Iterable[Row], clock: Clock) -> ImportReport:
    importers = _importers()
    if kind not in importers:
        raise ValueError(f"unknown import kind {kind!r}")
    importer = importers[kind]
    report = ImportReport(kind=kind)
    valid: list[tuple[int, Any]] = []
    seen: dict[tuple[str, ...], int] = {}
    for line, raw in rows:
        cleaned = {key.strip(): (value or "").strip() for key, value in raw.items() if key}
        cleaned = {key: value for key, value in cleaned.items() if value != ""}
        try:
            row = importer.row_model.model_validate(cleaned)
        except ValidationError as error:
            report.errors.append(RowError(line, describe(error)))
            continue
        key = importer.key(row)
        if key in seen:
            report.errors.append(RowError(line, f"与第 {seen[key]} 行重复（{'/'.join(key)}）"))
            continue
        seen[key] = line
        valid.append((line, row))
    if not valid and not report.errors:
        report.errors.append(RowError(1, "文件中没有数据行"))
    report.errors.extend(await importer.check(session, valid))
    if report.errors:
        report.errors.sort(key=lambda error: error.line)
        return report
    report.created, report.updated = await importer.write(session, [row for _, row in valid], clock)
    return report


def read_csv(path: Path, *, kind: str) -> tuple[list[Row], list[RowError]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return [], [RowError(1, "无法识别文件编码，请保存为 UTF-8 或 GBK 编码的 CSV")]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = {name.strip() for name in reader.fieldnames or [] if name}
    importer = _importers()[kind]
    problems = []
    if missing := importer.required - header:
        problems.append(f"缺少列：{', '.join(sorted(missing))}")
    if unknown := header - importer.required - importer.optional:
        problems.append(f"无法识别的列：{', '.join(sorted(unknown))}")
    if problems:
        return [], [RowError(1, "；".join(problems))]
    rows: list[Row] = []
    for index, raw_row in enumerate(reader):
        if None in raw_row:
            return [], [RowError(reader.line_num, "列数多于表头")]
        if index >= MAX_ROWS:
            return [], [RowError(reader.line_num, f"单个文件最多 {MAX_ROWS} 行")]
        if not any((value or "").strip() for value in raw_row.values()):
            continue
        rows.append((reader.line_num, raw_row))
    return rows, []


async def import_csv(session: AsyncSession, *, kind: str, path: Path, clock: Clock) -> ImportReport:
    if kind not in _importers():
        raise ValueError(f"unknown import kind {kind!r}")
    rows, errors = read_csv(path, kind=kind)
    if errors:
        return ImportReport(kind=kind, errors=errors)
    return await import_rows(session, kind=kind, rows=rows, clock=clock)
