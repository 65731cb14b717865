"""How much each part of ``warmline eval all`` measures, per profile.

``full`` is the on-demand report (every scenario k=4 times, ragas, the SMP2020 emotion sample, a
200-resident surge); ``quick`` fits in ~5 minutes on a 2-core machine (the scenarios marked quick,
k=1); ``minimal`` is what CI runs (a handful of scenarios, a dozen residents) to prove the
pipeline end to end in about a minute. The full 1,000-resident surge stays ``python -m
evals.load.run`` on an idle machine: it needs the cores to itself to mean anything.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

# One scenario per kind of outcome check, chosen so the minimal profile still exercises the KB
# (answers and abstention), a tool write, a handoff and the security invariant.
MINIMAL_SCENARIOS = (
    "kb_tariff_anonymous",
    "kb_room_temperature_standard",
    "kb_unanswerable_out_of_domain",
    "no_heat_missing_details",
    "explicit_human",
    "bill_someone_elses_account_refused",
)


@dataclass(frozen=True)
class Profile:
    name: str
    scenarios: Literal["all", "quick"] | tuple[str, ...]
    k: int
    ragas: bool
    kb_questions: int | None  # None: the whole QA set
    classify_speed: bool
    smp_limit: int
    load_residents: int
    load_messages: int
    load_ramp_s: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


PROFILES: dict[str, Profile] = {
    "full": Profile("full", "all", 4, True, None, True, 2000, 200, 2, 10.0),
    "quick": Profile("quick", "quick", 1, False, None, True, 300, 60, 2, 5.0),
    "minimal": Profile("minimal", MINIMAL_SCENARIOS, 1, False, 40, False, 0, 12, 1, 2.0),
}
