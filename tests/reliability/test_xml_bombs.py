"""XML bombs at both XML parsers: refused fast and small, no entity ever expanded or fetched.

The defence does not rest on the expat version alone: the official account refuses any DTD before
a parser sees the body and caps the body while reading it (a chunked upload declares no length);
the payment callback parses with defusedxml, DTDs forbidden, behind its own size cap. The expat
floor is asserted too, as a second line.
"""

from __future__ import annotations

from pathlib import Path

import defusedxml.ElementTree as safe_xml
import pytest
import xmltodict
from defusedxml import DTDForbidden

from backoffice.app import create_app
from evals.reliability.bombs import (
    BUDGET_MB,
    BUDGET_MS,
    EXPAT_MINIMUM,
    expat_version,
    format_bombs,
    run_bombs,
)
from evals.reliability.company import make_company
from evals.reliability.xml_bodies import make_bombs
from tests.kb.fakes import make_fake_kb
from tools.billing.wechat_pay import parse_notify_xml
from tools.errors import InvalidInput


def test_every_bomb_is_refused_within_budget_and_nothing_is_fetched(
    tmp_path: Path, database_factory, shared_classifier
) -> None:
    company = make_company(
        tmp_path,
        make_app=create_app,
        migrate=lambda _settings: None,
        kb=make_fake_kb(tmp_path / "kb"),
        classifier=shared_classifier,
        database_url=database_factory.new_url(),
    )
    results = run_bombs(company.app, token=company.settings.wechat_token)
    table = "\n".join(format_bombs(results))
    assert {r.bomb for r in results} >= {
        "billion_laughs",
        "quadratic_blowup",
        "xxe_file",
        "xxe_http",
        "body_10mb",
    }
    assert {r.target for r in results} == {"wechat", "wechat-chunked", "pay-notify"}
    for result in results:
        assert result.outcome.startswith("4"), table
        assert not result.leaked, table
        assert result.max_ms < BUDGET_MS, table
        assert result.rss_growth_mb < BUDGET_MB and result.peak_alloc_mb < BUDGET_MB, table
    too_large = {r.target: r.outcome for r in results if r.bomb == "body_10mb"}
    assert too_large["wechat"] == too_large["wechat-chunked"] == "413", table


def test_expat_is_new_enough_to_cap_entity_amplification() -> None:
    assert expat_version() >= EXPAT_MINIMUM


@pytest.mark.parametrize(
    "name", ["billion_laughs", "quadratic_blowup", "xxe_file", "xxe_http", "xxe_parameter"]
)
def test_the_parsers_refuse_a_dtd_themselves(name: str) -> None:
    bomb = make_bombs("http://127.0.0.1:9")[name]
    with pytest.raises(ValueError, match="entities are disabled"):  # what wechatpy parses with
        xmltodict.parse(bomb.decode())
    with pytest.raises(DTDForbidden):
        safe_xml.fromstring(bomb, forbid_dtd=True)
    with pytest.raises(InvalidInput):
        parse_notify_xml(bomb)
