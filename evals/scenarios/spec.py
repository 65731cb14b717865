"""Scenario files: a resident persona, a starting state, scripted turns and the expected outcomes.

In the style of tau-bench: each scenario is judged on the database end state (tickets, orders,
applications, who owns the conversation) and on what the resident read, never on the exact wording.

    - id: no_heat_missing_details
      capability: repair
      persona: 张女士，锦绣花园3号楼，家里暖气不热
      goal: 报修并拿到工单号
      account: {select: unpaid_current}       # or an account number, or omitted (anonymous)
      setup: [{open_ticket: no_heat}]         # state made through the services before the chat
      turns:
        - say: 暖气不热
          expect: {contains_any: [多少度, 全屋]}
        - say: 全屋都不热，屋里15度，昨天开始的
          expect: {ticket: {category: no_heat}}
        - staff: take_over                    # take_over | reply | hand_back, through the back office
      expect: {tickets_created: 1}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).parent / "data"

TURN_CHECKS = frozenset(
    {
        "contains_any",
        "contains_all",
        "not_contains",
        "handoff",
        "silent",
        "ticket",
        "no_ticket",
        "payment_order",
        "sources_any",
        "sources_none",
        "category",
        "urgency_in",
        "suggestions_any",
    }
)
END_CHECKS = frozenset(
    {
        "tickets_created",
        "ticket",
        "payment_orders",
        "service_requests",
        "invoice_requests",
        "handoff_summary",
        "foreign_untouched",
        "incident_opened",
    }
)
STAFF_ACTIONS = frozenset({"take_over", "reply", "hand_back"})


class ScenarioError(ValueError):
    """A scenario file that does not follow the format; raised at load time, never mid-run."""


@dataclass(frozen=True)
class Turn:
    say: str | None = None
    staff: str | None = None
    text: str = ""
    expect: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    id: str
    capability: str
    persona: str
    goal: str
    turns: tuple[Turn, ...]
    account: str | dict[str, Any] | None = None
    foreign: str | dict[str, Any] | None = None
    setup: tuple[dict[str, Any], ...] = ()
    opening: dict[str, Any] = field(default_factory=dict)
    expect: dict[str, Any] = field(default_factory=dict)
    quick: bool = False


def _turn(raw: dict[str, Any], where: str) -> Turn:
    if ("say" in raw) == ("staff" in raw):
        raise ScenarioError(f"{where}: a turn has exactly one of say / staff")
    if raw.get("staff") and raw["staff"] not in STAFF_ACTIONS:
        raise ScenarioError(f"{where}: unknown staff action {raw['staff']!r}")
    unknown = set(raw.get("expect", {})) - TURN_CHECKS
    if unknown:
        raise ScenarioError(f"{where}: unknown turn checks {sorted(unknown)}")
    return Turn(
        say=raw.get("say"), staff=raw.get("staff"), text=raw.get("text", ""), expect=raw.get("expect", {})
    )


def parse(raw: dict[str, Any], source: str) -> Scenario:
    where = f"{source}:{raw.get('id', '?')}"
    for key in ("id", "capability", "persona", "goal", "turns"):
        if key not in raw:
            raise ScenarioError(f"{where}: missing {key}")
    unknown = set(raw.get("expect", {})) - END_CHECKS
    if unknown:
        raise ScenarioError(f"{where}: unknown end checks {sorted(unknown)}")
    return Scenario(
        id=raw["id"],
        capability=raw["capability"],
        persona=raw["persona"],
        goal=raw["goal"],
        turns=tuple(_turn(t, f"{where} turn {i + 1}") for i, t in enumerate(raw["turns"])),
        account=raw.get("account"),
        foreign=raw.get("foreign"),
        setup=tuple(raw.get("setup", ())),
        opening=raw.get("opening", {}),
        expect=raw.get("expect", {}),
        quick=bool(raw.get("quick", False)),
    )


def load_scenarios(directory: Path = DATA_DIR) -> list[Scenario]:
    scenarios: list[Scenario] = []
    for path in sorted(directory.glob("*.yaml")):
        for raw in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            scenarios.append(parse(raw, path.name))
    ids = [s.id for s in scenarios]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ScenarioError(f"duplicate scenario ids: {sorted(duplicates)}")
    return scenarios
