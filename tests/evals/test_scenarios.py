"""The scenario suite: its file format, its pass^k arithmetic, its invariants, and the quick profile
run end to end against served instances of the demo company."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from backoffice.app import create_app
from backoffice.migrate import upgrade
from evals.scenarios.checks import RunFacts, check_turn, invented_amounts
from evals.scenarios.report import run_cli
from evals.scenarios.runner import pass_hat_k
from evals.scenarios.spec import ScenarioError, load_scenarios, parse
from tools.settings import Settings


def _facts(**values: str) -> RunFacts:
    return RunFacts(
        values=values,
        allowed_amounts={Decimal("26.00"), Decimal("2327.00")},
        account_id=None,
        foreign_id=None,
    )


def test_shipped_scenarios_load_and_cover_every_capability() -> None:
    scenarios = load_scenarios()
    capabilities = {s.capability for s in scenarios}
    assert len(scenarios) >= 40
    assert {
        "knowledge",
        "abstain",
        "billing",
        "suspend",
        "repair",
        "emergency",
        "progress",
        "handoff",
        "security",
        "suggestions",
        "patterns",
    } <= capabilities
    assert sum(s.quick for s in scenarios) >= 15


def test_a_scenario_with_an_unknown_check_is_refused_at_load_time() -> None:
    with pytest.raises(ScenarioError, match="unknown turn checks"):
        parse(
            {
                "id": "x",
                "capability": "c",
                "persona": "p",
                "goal": "g",
                "turns": [{"say": "你好", "expect": {"contians_any": ["好"]}}],
            },
            "t.yaml",
        )
    with pytest.raises(ScenarioError, match="exactly one"):
        parse({"id": "x", "capability": "c", "persona": "p", "goal": "g", "turns": [{}]}, "t.yaml")


def test_pass_hat_k_is_the_chance_that_k_tries_all_succeed() -> None:
    assert pass_hat_k(4, 4, 4) == 1.0
    assert pass_hat_k(3, 4, 4) == 0.0
    assert pass_hat_k(3, 4, 1) == 0.75
    assert pass_hat_k(3, 4, 2) == pytest.approx(0.5)  # C(3,2)/C(4,2)


def test_turn_checks_fill_placeholders_and_flag_unmasked_phones() -> None:
    facts = _facts(due="2327.00", foreign_no="2026010099")
    good = {"reply": "您需缴纳 2327.00 元，单价 26 元/㎡。", "handoff": False}
    assert check_turn(good, {"contains_all": ["{due}"], "not_contains": ["{foreign_no}"]}, facts, "t1") == []
    phone = {"reply": "请联系 13912345678。", "handoff": False}
    assert any("unmasked mobile" in p for p in check_turn(phone, {}, facts, "t1"))
    leaked = {"reply": "户号2026010099欠费", "handoff": True}
    assert len(check_turn(leaked, {"not_contains": ["{foreign_no}"], "handoff": False}, facts, "t1")) == 2


def test_amounts_are_judged_once_at_the_end_against_what_the_run_produced() -> None:
    # A 报停 quote only exists once the tool ran: the turn check must not reject it, the end check
    # accepts it once the run's records are granted, and an amount nobody produced still fails.
    facts = _facts()
    quoted = {"reply": "非居民报停需缴纳基本热费 829.69 元。", "handoff": False}
    assert check_turn(quoted, {}, facts, "t1") == []
    assert any("829.69" in p for p in invented_amounts([quoted["reply"]], facts))
    facts.allowed_amounts.add(Decimal("829.69"))
    assert invented_amounts([quoted["reply"]], facts) == []
    problems = invented_amounts([quoted["reply"], "滞纳金 88.80 元"], facts)
    assert len(problems) == 1 and "reply 2" in problems[0] and "88.80" in problems[0]


async def test_quick_profile_passes_through_served_instances(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", log_json=False)  # type: ignore[call-arg]
    report = await run_cli(
        settings=settings, make_app=create_app, migrate=upgrade, k=1, quick=True, echo=lambda *_: None
    )
    offline = report["summaries"]["offline"]
    assert offline["overall"]["scenarios"] >= 15
    assert offline["failures"] == {}, offline["failures"]
