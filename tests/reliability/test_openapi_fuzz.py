"""Bad input through the whole HTTP API: schemathesis over our own OpenAPI, plus the bugs it found.

The CI run is bounded (a few examples per operation, coverage phase off); ``warmline eval fuzz``
runs the same fuzzer with 1,000 examples per operation, and the slow test here runs the coverage
phase too. Both drive the real app in-process over ASGI, past authentication: as the demo admin,
a demo repair worker, and a web and an app chat session bound to a demo resident.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from backoffice.app import create_app
from evals.reliability.company import ADMIN, FuzzCompany, make_company
from evals.reliability.openapi_fuzz import format_report, run_openapi_fuzz, stop_apps
from tests.kb.fakes import make_fake_kb
from tools.db import transaction
from tools.demo.seed import seed_demo


@pytest.fixture
def company(tmp_path: Path, database_factory, shared_classifier) -> FuzzCompany:
    return make_company(
        tmp_path,
        make_app=create_app,
        migrate=lambda _settings: None,  # the factory's copy is migrated already
        kb=make_fake_kb(tmp_path / "kb"),
        classifier=shared_classifier,
        database_url=database_factory.new_url(),
    )


def _operations(app: FastAPI) -> set[str]:
    return {f"{method.upper()} {path}" for path, ops in app.openapi()["paths"].items() for method in ops}


def _fuzz(company: FuzzCompany, **options) -> str:
    try:
        report = run_openapi_fuzz(company.app, **options)
    finally:
        stop_apps()
    text = "\n".join(format_report(report, examples=options["examples"]))
    assert report.server_errors == 0, text
    assert report.schema_violations == 0, text
    assert report.other_failures == 0, text
    # Not vacuous: every operation but the skipped streams was called, stateful chains ran too.
    assert set(report.operations) == _operations(company.app) - set(report.skipped), text
    assert all(op.cases > 0 for op in report.operations.values()), text
    assert report.phases.get("stateful", 0) > 0, text
    return text


def test_every_operation_passes_every_schemathesis_check(company: FuzzCompany) -> None:
    _fuzz(company, examples=3, coverage=False, stateful=True)


@pytest.mark.slow
def test_every_operation_passes_every_schemathesis_check_with_the_coverage_phase(
    company: FuzzCompany,
) -> None:
    _fuzz(company, examples=25, coverage=True, stateful=True)


def test_every_operation_documents_the_error_envelope_it_really_sends(settings) -> None:
    spec = create_app(settings, run_jobs=False).openapi()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            error = op["responses"].get("4XX", {}).get("content", {}).get("application/json", {})
            assert error.get("schema", {}).get("required") == ["error"], f"{method} {path}"
            assert "422" not in op["responses"], f"{method} {path} documents FastAPI's HTTPValidationError"
    assert "HTTPValidationError" not in spec.get("components", {}).get("schemas", {})


# --- regressions for what the fuzzer found -------------------------------------------------------


@pytest.fixture
async def fresh(
    settings, clock, sessions, shared_classifier, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The demo company on an empty fake knowledge base (these tests write documents)."""
    async with transaction(sessions) as session:
        await seed_demo(session, clock=clock)
    app = create_app(
        settings, clock=clock, kb=make_fake_kb(tmp_path / "kb"), classifier=shared_classifier, run_jobs=False
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            login = await client.post("/api/v1/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})
            client.headers["Authorization"] = f"Bearer {login.json()['token']}"
            yield client


async def test_a_405_allows_every_method_the_path_serves(fresh: httpx.AsyncClient) -> None:
    response = await fresh.request("TRACE", "/wechat")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}


async def test_a_date_parameter_takes_only_an_iso_date(fresh: httpx.AsyncClient) -> None:
    for value in ("0", "86400", "2026-11-01T00:00:00", "20261101"):
        for url in ("/api/v1/backoffice/quality/stats", "/api/v1/backoffice/dashboards/overview"):
            refused = await fresh.get(url, params={"start": value})
            assert refused.status_code == 422, (url, value, refused.text)
            assert refused.json()["error"]["code"] == "invalid_request"
    assert (
        await fresh.get("/api/v1/backoffice/quality/stats", params={"start": "2026-11-01"})
    ).status_code == 200
    for far in ("0001-01-01", "9999-12-31"):  # local midnight of these overflows datetime
        refused = await fresh.get("/api/v1/backoffice/quality/stats", params={"start": far, "end": far})
        assert refused.status_code == 422, refused.text


async def test_json_booleans_and_integers_are_not_taken_from_strings(fresh: httpx.AsyncClient) -> None:
    hit_test = "/api/v1/backoffice/kb/hit-test"
    assert (await fresh.post(hit_test, json={"query": "暖气", "staff": 0})).status_code == 422
    assert (await fresh.post(hit_test, json={"query": "暖气", "k": "5"})).status_code == 422
    assert (await fresh.post(hit_test, json={"query": "暖气", "k": 5.0, "staff": True})).status_code == 200
    classify = await fresh.post("/api/v1/classify", json={"text": "暖气不热", "vulnerable": "yes"})
    assert classify.status_code == 422


async def test_blank_text_means_the_same_to_the_schema_and_the_server(fresh: httpx.AsyncClient) -> None:
    # Python strips \x1c and \x85, ECMA regexes do not; ECMA's \s has \ufeff, Python's does not.
    for blank in ("\x1c\x1d", "\x85", "\ufeff", " \u3000 "):
        refused = await fresh.post("/api/v1/classify", json={"text": blank})
        assert refused.status_code == 422, repr(blank)
        assert refused.json()["error"]["code"] == "invalid_request"
    assert (await fresh.post("/api/v1/classify", json={"text": "\x1c暖气不热"})).status_code == 200


async def test_patching_a_document_with_a_null_list_is_not_a_crash(fresh: httpx.AsyncClient) -> None:
    created = await fresh.post(
        "/api/v1/backoffice/kb/documents", json={"title": "停暖通知", "content": "3号楼今晚检修。"}
    )
    assert created.status_code == 201, created.text
    url = f"/api/v1/backoffice/kb/documents/{created.json()['id']}"
    patched = await fresh.patch(url, json={"questions": None, "content": "3号楼明晚检修。"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["questions"] == []


async def test_a_huge_page_offset_is_a_422_not_a_database_overflow(fresh: httpx.AsyncClient) -> None:
    for url in (
        "/api/v1/backoffice/tickets",
        "/api/v1/backoffice/residents",
        "/api/v1/backoffice/kb/documents",
    ):
        assert (await fresh.get(url, params={"offset": 2**70})).status_code == 422, url
        assert (await fresh.get(url, params={"offset": 1_000_000})).status_code == 200, url


async def test_a_nul_character_is_a_422_on_every_backend(fresh: httpx.AsyncClient, sessions) -> None:
    # PostgreSQL cannot store U+0000 in text or JSON; it used to be a 500 from deep inside a flush.
    document = await fresh.post(
        "/api/v1/backoffice/kb/documents", json={"title": "通知", "content": "正文", "tags": ["\x00"]}
    )
    assert document.status_code == 422, document.text
    assert document.json()["error"]["code"] == "nul_character"
    listed = await fresh.get("/api/v1/backoffice/kb/documents")
    assert listed.status_code == 200 and listed.json()["total"] == 0
    assert (
        await fresh.get("/api/v1/backoffice/residents", params={"community": "锦绣\x00"})
    ).status_code == 422
