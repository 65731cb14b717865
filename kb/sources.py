"""Reading knowledge files into documents: Markdown with front matter, FAQ YAML, text, HTML, PDF, DOCX.

A broken or unsupported file becomes a reported problem, never an exception that stops an ingest.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx", ".yaml", ".yml"}
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


@dataclass
class SourceDocument:
    slug: str
    title: str
    content: str
    kind: str = "doc"
    audience: str = "resident"
    valid_from: date | None = None
    valid_to: date | None = None
    scope_community: str | None = None
    scope_building: str | None = None
    tags: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    source_path: str | None = None

    @property
    def content_hash(self) -> str:
        payload = "\x1f".join(
            [
                self.title,
                self.content,
                self.kind,
                self.audience,
                str(self.valid_from),
                str(self.valid_to),
                self.scope_community or "",
                self.scope_building or "",
                *self.questions,
            ]
        )
        return hashlib.sha256(payload.encode()).hexdigest()


class SourceError(Exception):
    pass


def parse_scope(value: str | None) -> tuple[str | None, str | None]:
    if not value or value.strip() in ("company", "全公司", "all"):
        return None, None
    community, _, building = value.strip().partition("/")
    return community.strip() or None, building.strip() or None


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise SourceError(f"日期格式不正确：{value}") from error


def _slug(path: Path) -> str:
    return re.sub(r"[^0-9A-Za-z\u4e00-\u9fff_-]+", "-", path.stem).strip("-").lower() or "doc"


def _from_meta(meta: dict[str, Any], *, content: str, slug: str, path: Path) -> SourceDocument:
    community, building = parse_scope(meta.get("scope"))
    title = str(meta.get("title") or "").strip()
    if not title:
        raise SourceError("缺少标题（title）")
    kind = str(meta.get("kind") or "doc")
    if kind not in ("doc", "notice", "faq"):
        raise SourceError(f"未知文档类型：{kind}")
    audience = str(meta.get("audience") or "resident")
    if audience not in ("resident", "staff"):
        raise SourceError(f"未知读者范围：{audience}")
    return SourceDocument(
        slug=str(meta.get("id") or slug),
        title=title,
        content=content.strip(),
        kind=kind,
        audience=audience,
        valid_from=_date(meta.get("valid_from")),
        valid_to=_date(meta.get("valid_to")),
        scope_community=community,
        scope_building=building,
        tags=[str(tag) for tag in meta.get("tags") or []],
        questions=[str(q) for q in meta.get("questions") or []],
        source_path=str(path),
    )


def _markdown(path: Path, text: str) -> list[SourceDocument]:
    match = _FRONT_MATTER.match(text)
    meta: dict[str, Any] = {}
    body = text
    if match:
        try:
            meta = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as error:
            raise SourceError(f"文件头格式错误：{error}") from error
        body = text[match.end() :]
    if "title" not in meta:
        heading = re.search(r"^#\s+(.+)$", body, re.MULTILINE)
        meta["title"] = heading.group(1).strip() if heading else path.stem
    return [_from_meta(meta, content=body, slug=_slug(path), path=path)]


def _faq(path: Path, text: str) -> list[SourceDocument]:
    try:
        entries = yaml.safe_load(text) or []
    except yaml.YAMLError as error:
        raise SourceError(f"FAQ 文件格式错误：{error}") from error
    if not isinstance(entries, list):
        raise SourceError("FAQ 文件应为列表")
    documents = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not entry.get("questions") or not entry.get("answer"):
            raise SourceError(f"第 {number} 条 FAQ 缺少 questions 或 answer")
        questions = [str(q) for q in entry["questions"]]
        meta = {**entry, "kind": "faq", "title": entry.get("title") or questions[0]}
        documents.append(
            _from_meta(
                meta, content=str(entry["answer"]), slug=str(entry.get("id") or f"faq-{number}"), path=path
            )
        )
    return documents


def _html(path: Path, raw: bytes) -> list[SourceDocument]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    for tag in soup(["script", "style", "nav", "footer"]):
        tag.decompose()
    title = (soup.title.string if soup.title and soup.title.string else "") or path.stem
    lines = []
    for node in soup.find_all(["h1", "h2", "h3", "p", "li"]):
        text = node.get_text(" ", strip=True)
        if text:
            lines.append(("## " if node.name in ("h2", "h3") else "# " if node.name == "h1" else "") + text)
    return [_from_meta({"title": title.strip()}, content="\n".join(lines), slug=_slug(path), path=path)]


def _pdf(path: Path) -> list[SourceDocument]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path))
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
    except Exception as error:  # pypdf raises many types for damaged files
        raise SourceError(f"PDF 无法读取：{error}") from error
    if not text.strip():
        raise SourceError("PDF 中没有可提取的文字（可能是扫描件）")
    title = (reader.metadata.title if reader.metadata and reader.metadata.title else None) or path.stem
    return [_from_meta({"title": title}, content=text, slug=_slug(path), path=path)]


def _docx(path: Path) -> list[SourceDocument]:
    from docx import Document

    try:
        document = Document(str(path))
    except Exception as error:
        raise SourceError(f"Word 文件无法读取：{error}") from error
    lines = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name or "").lower() if paragraph.style is not None else ""
        prefix = "# " if style in ("title", "heading 1") else "## " if style.startswith("heading") else ""
        lines.append(prefix + text)
    title = document.core_properties.title or next(
        (line[2:] for line in lines if line.startswith("# ")), path.stem
    )
    return [_from_meta({"title": title}, content="\n".join(lines), slug=_slug(path), path=path)]


def read_source(path: Path) -> list[SourceDocument]:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise SourceError(f"不支持的文件类型：{suffix or '无扩展名'}")
    if suffix == ".pdf":
        return _pdf(path)
    if suffix == ".docx":
        return _docx(path)
    raw = path.read_bytes()
    if suffix in (".html", ".htm"):
        return _html(path, raw)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError as error:
            raise SourceError("无法识别文件编码") from error
    if suffix in (".yaml", ".yml"):
        return _faq(path, text)
    return _markdown(path, text)


def discover(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            found.append(path)
    return found
