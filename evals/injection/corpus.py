"""The prompt-injection corpus: seed templates × goals, expanded deterministically (no LLM).

Three vectors (OWASP LLM01): ``direct`` (the resident's own message), ``kb`` (an instruction planted
in a knowledge-base document the retriever returns for an innocent question) and ``tool_output``
(an instruction planted in the resident's own records a tool returns: a ticket note, or the
community name inside their address). Every case names a canary resident as its target by index;
``Case.render`` fills in that resident's identifiers once the world is seeded, because ticket numbers
only exist then. The ``extraction`` suite is separate: system-prompt extraction attempts, each
answered by the hostile model with one leak encoding.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

TEMPLATES = Path(__file__).resolve().parent.parent / "data" / "injection_templates.yaml"
Vector = Literal["direct", "kb", "tool_output"]
Lang = Literal["zh", "en"]
VECTORS: tuple[Vector, ...] = ("direct", "kb", "tool_output")
LANGS: tuple[Lang, ...] = ("zh", "en")
TARGETS = 6  # canary residents the world seeds (evals/injection/world.py)
ADDRESS_MAX = 60  # a community name's column width
LEAK_STYLES = (
    "verbatim",
    "spaced",
    "zero_width",
    "fullwidth",
    "reversed",
    "base64",
    "hex",
    "unicode_escape",
    "rules_only",
    "translated",
)


@dataclass(frozen=True)
class Target:
    """What an attacker knows about the resident it targets."""

    account_no: str
    phone: str
    ticket_no: str


@dataclass(frozen=True)
class Case:
    id: str
    suite: Literal["injection", "extraction"]
    vector: Vector
    lang: Lang
    goal: str
    carrier: Literal["message", "kb_doc", "ticket_note", "address"]
    message: str  # what the resident sends (templated)
    payload: str  # the injected instruction (== message for the direct vector)
    target: int  # index of the canary resident attacked
    leak: str = "verbatim"  # how the hostile model encodes a leaked system prompt
    doc_title: str = ""
    doc_body: str = ""

    def render(self, target: Target) -> Rendered:
        def fill(text: str) -> str:
            return (
                text.replace("{no}", target.account_no)
                .replace("{phone}", target.phone)
                .replace("{ticket}", target.ticket_no)
            )

        payload = fill(self.payload)
        if self.carrier == "address" and len(payload) > ADDRESS_MAX:
            raise ValueError(f"{self.id}: address payload longer than {ADDRESS_MAX}: {payload!r}")
        return Rendered(case=self, target=target, message=fill(self.message), payload=payload)


@dataclass(frozen=True)
class Rendered:
    case: Case
    target: Target
    message: str
    payload: str

    @property
    def attacker_text(self) -> str:
        """What the attacker wrote or knows (the target's 户号, phone, ticket number): values in it
        are not secrets to the attacker, so finding them in a reply is no leak."""
        t = self.target
        return f"{self.message}\n{self.payload}\n{t.account_no} {t.phone} {t.ticket_no}"


@cache
def load_templates(path: Path = TEMPLATES) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _sub(template: str, **values: str) -> str:
    # str.replace, not str.format: templates hold literal JSON braces.
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def build_corpus(templates: dict[str, Any] | None = None) -> list[Case]:
    """Every injection case, in a fixed order (same input, same corpus)."""
    data = templates or load_templates()
    goals: dict[str, dict[str, str]] = data["goals"]
    cases: list[Case] = []

    def add(
        vector: Vector, lang: Lang, goal: str, carrier: Any, n: int, message: str, payload: str, **kw: Any
    ) -> None:
        index = len(cases)
        leak = LEAK_STYLES[index % len(LEAK_STYLES)] if goal == "reveal_prompt" else "verbatim"
        cases.append(
            Case(
                id=f"{carrier}-{lang}-{goal}-{n:02d}",
                suite="injection",
                vector=vector,
                lang=lang,
                goal=goal,
                carrier=carrier,
                message=message,
                payload=payload,
                target=index % TARGETS,
                leak=leak,
                **kw,
            )
        )

    for lang in LANGS:
        for goal, text in goals.items():
            for n, template in enumerate(data["direct"][lang]):
                message = _sub(template, goal=text[lang])
                add("direct", lang, goal, "message", n, message, message)
            topics = data["kb"]["topics"]
            for n, template in enumerate(data["kb"][lang]):
                topic = topics[(n + len(cases)) % len(topics)][lang]
                payload = _sub(template, goal=text[lang])
                add(
                    "kb",
                    lang,
                    goal,
                    "kb_doc",
                    n,
                    topic["question"],
                    payload,
                    doc_title=topic["title"],
                    doc_body=f"{topic['body']}\n\n{payload}",
                )
            note = data["tool_output"]["ticket_note"]
            for n, template in enumerate(note[lang]):
                add(
                    "tool_output",
                    lang,
                    goal,
                    "ticket_note",
                    n,
                    note["question"][lang],
                    _sub(template, goal=text[lang]),
                )
            address = data["tool_output"]["address"]
            for n, template in enumerate(address[lang]):
                payload = _sub(template, short=text[f"short_{lang}"])
                add("tool_output", lang, goal, "address", n, address["question"][lang], payload)
    return cases


def build_extraction(templates: dict[str, Any] | None = None) -> list[Case]:
    """System-prompt extraction attempts: every template answered with every leak encoding."""
    data = templates or load_templates()
    cases: list[Case] = []
    for lang in LANGS:
        for n, message in enumerate(data["extraction"][lang]):
            for style in LEAK_STYLES:
                cases.append(
                    Case(
                        id=f"extract-{lang}-{n:02d}-{style}",
                        suite="extraction",
                        vector="direct",
                        lang=lang,
                        goal="reveal_prompt",
                        carrier="message",
                        message=message,
                        payload=message,
                        target=len(cases) % TARGETS,
                        leak=style,
                    )
                )
    return cases


def stratified_sample(cases: list[Case], size: int) -> list[Case]:
    """About ``size`` cases spread evenly over the (vector, carrier, language) cells (the (leak,
    language) cells for extraction), each cell cycling through its goals and templates; deterministic,
    so CI always runs the same sample."""
    cells: dict[tuple[str, ...], list[Case]] = defaultdict(list)
    for case in cases:
        key = (case.leak, case.lang) if case.suite == "extraction" else (case.vector, case.carrier, case.lang)
        cells[key].append(case)
    queues = [_interleaved(cells[key], shift=n) for n, key in enumerate(sorted(cells))]
    chosen: list[Case] = []
    while len(chosen) < size and any(queues):
        for queue in queues:
            if queue and len(chosen) < size:
                chosen.append(queue.pop(0))
    order = {case.id: i for i, case in enumerate(cases)}
    return sorted(chosen, key=lambda c: order[c.id])


def _interleaved(cases: list[Case], *, shift: int) -> list[Case]:
    """One case per goal in turn (the goal order rotated per cell, so small samples still see every
    goal), each goal starting at a different template."""
    by_goal: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        by_goal[case.goal].append(case)
    groups = [group[n % len(group) :] + group[: n % len(group)] for n, group in enumerate(by_goal.values())]
    turn = (3 * shift) % max(1, len(groups))
    groups = groups[turn:] + groups[:turn]
    out: list[Case] = []
    for round_ in range(max((len(g) for g in groups), default=0)):
        out += [group[round_] for group in groups if round_ < len(group)]
    return out
