"""Chunking: by headings first, then by Chinese sentence boundaries, with one sentence of overlap.

Each chunk carries its document title and section so a chunk read alone still says what it is
about ("报停办理规定 › 报停收费 ..."). FAQ entries are one chunk each: all question variants plus
the answer, so any variant a resident types lands on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.sources import SourceDocument

MAX_CHARS = 360
_SENTENCES = re.compile(r"(?<=[。！？；!?;])|\n+")


@dataclass(frozen=True)
class Chunk:
    index: int
    section: str
    text: str  # what is embedded and matched
    body: str  # what is shown and quoted


def _sections(content: str) -> list[tuple[str, str]]:
    sections: list[tuple[str, list[str]]] = [("", [])]
    for line in content.splitlines():
        heading = re.match(r"^(#{1,4})\s+(.*)$", line)
        if heading and len(heading.group(1)) >= 2:
            sections.append((heading.group(2).strip(), []))
        elif not heading:  # a single-# line repeats the document title
            sections[-1][1].append(line)
    return [(name, "\n".join(lines).strip()) for name, lines in sections if "\n".join(lines).strip()]


def _split(text: str) -> list[str]:
    if len(text) <= MAX_CHARS:
        return [text]
    sentences = [s for s in _SENTENCES.split(text) if s and s.strip()]
    pieces: list[str] = []
    current: list[str] = []
    for sentence in sentences:
        if current and len("".join(current)) + len(sentence) > MAX_CHARS:
            pieces.append("".join(current))
            current = current[-1:]  # one sentence of overlap keeps context across the cut
        current.append(sentence if sentence.endswith(("。", "！", "？", "；")) else sentence + "\n")
    if current:
        pieces.append("".join(current))
    return pieces


def chunk_document(document: SourceDocument) -> list[Chunk]:
    if document.kind == "faq":
        questions = "；".join(document.questions)
        return [Chunk(0, "", f"{questions}\n{document.content}", document.content)]
    chunks: list[Chunk] = []
    for section, body in _sections(document.content) or [("", document.content)]:
        for piece in _split(body):
            heading = f"{document.title} › {section}" if section else document.title
            chunks.append(Chunk(len(chunks), section, f"{heading}\n{piece.strip()}", piece.strip()))
    return chunks
