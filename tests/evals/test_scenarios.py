"""The scenario suite: its file format, its pass^k arithmetic, its invariants, and the quick profile
run end to end against served instances of the demo company."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from backoffice.app import create_app
from backoffice.migrate import upgrade
from evals.scenarios.checks import RunFacts, check_turn
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


def test_turn_checks_fill_placeholders_and_flag_invented_amounts_and_phones() -> None:
    facts = _facts(due="2327.00", foreign_no="2026010099")
    good = {"reply": "您需缴纳 2327.00 元，单价 26 元/㎡。", "handoff": False}
    assert check_turn(good, {"contains_all": ["{due}"], "not_contains": ["{foreign_no}"]}, facts, "t1") == []
    invented = {"reply": "滞纳金 88.80 元，请联系 13912345678。", "handoff": False}
    problems = check_turn(invented, {}, facts, "t1")
    assert any("88.80" in p for p in problems) and any("unmasked mobile" in p for p in problems)
    leaked = {"reply": "户号2026010099欠费", "handoff": True}
    assert len(check_turn(leaked, {"not_contains": ["{foreign_no}"], "handoff": False}, facts, "t1")) == 2


async def test_quick_profile_passes_through_served_instances(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", log_json=False)  # type: ignore[call-arg]
    report = await run_cli(
        settings=settings, make_app=create_app, migrate=upgrade, k=1, quick=True, echo=lambda *_: None
    )
    offline = report["summaries"]["offline"]
    assert offline["overall"]["scenarios"] >= 15
    assert offline["failures"] == {}, offline["failures"]
