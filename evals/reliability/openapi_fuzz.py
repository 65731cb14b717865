"""Schemathesis against our own OpenAPI, in-process through ASGI: every operation, every check.

The fuzzer reaches past authentication the way real clients do: it logs in as the demo admin
(back office), as a demo repair worker (the worker app's routes refuse other roles) and opens one
web and one app chat session bound to a demo resident (their routes get that session's id and
token). Everything else about a request is generated.

What counts:
- ``server_errors``: responses with status >= 500, and unhandled exceptions (over ASGI the client
  gets the exception itself, right after the app's 500);
- ``schema_violations``: failures of the checks that compare a response with the schema (status
  code, content type, headers, body);
- ``other_failures``: every other check (negative data accepted, valid data rejected, auth ignored,
  unsupported methods, use after free, ...).

Event streams are read up to their first event. Skipped on purpose, and reported as such: the one
stream that opens silently (it cannot be told apart from a hang). Narrowed, per operation and with
the reason in ``BUSINESS_RULES`` / ``UPLOAD_ARRAYS``: ``positive_data_acceptance`` where a rule the
schema cannot state may refuse schema-valid input (then ``valid_request_not_malformed`` checks that
request validation itself still accepts it).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.core.failures import Failure
from schemathesis.engine import events, from_schema
from schemathesis.engine.run import PhaseName
from schemathesis.openapi.checks import RejectedPositiveData

from evals.reliability.company import ADMIN, DEMO_ACCOUNT

SCHEMA_CHECKS = frozenset(
    {
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    }
)
WORKER = ("w001", "warmline-worker")
# Event streams that stay open while nothing happens. Those that open with a ``ready`` event are
# fuzzed and cut after it (otherwise each case would wait for 20 keep-alive pings, 15 s apart); the
# one that opens silently cannot be told apart from a hang and is skipped.
OPEN_WITH_READY = (
    r"^/api/v1/(chat|app)/sessions/\{session_id\}/events$",
    r"^/api/v1/backoffice/console/events$",
)
STREAMS: dict[str, str] = {
    r"^/api/v1/backoffice/conversations/events/stream$": "无限事件流（SSE），开头无事件，无法判断结束",
}
# Rules a JSON schema cannot state (cross-field, after trimming, about stored state or file bytes):
# schema-valid input may meet a business 422/415 with its own error code here. On these operations
# positive_data_acceptance gives way to ``valid_request_not_malformed``: request validation itself
# must still accept whatever the schema allows.
BUSINESS_RULES: dict[str, str] = {
    r"^/api/v1/backoffice/dashboards/": "起止日期先后、区间最长一年",
    r"^/api/v1/backoffice/quality/(stats|flagged)$": "起止日期先后、区间最长一年",
    r"^/api/v1/backoffice/campaigns(/preview)?$": "至少指定标签、区域或小区之一",
    r"^/api/v1/backoffice/kb/(documents|faqs)": "标题正文去空白非空、生效早于失效、楼号需小区等",
    r"^/api/v1/backoffice/kb/proposals/\{proposal_id\}/approve$": "建议没有答案时须填写答案",
    r"^/api/v1/backoffice/kb/upload$": "文件扩展名与内容",
    r"^/api/v1/backoffice/messages/\{message_id\}/labels$": "至少修改一个标签",
    r"^/api/v1/backoffice/residents/\{account_no\}/contact$": "查看原因去空白后至少 4 个字",
    r"/attachments$": "照片须是真实的 JPEG/PNG 图片",
}
# Multipart arrays of files wrapped in ``anyOf`` (FastAPI's ``list[UploadFile] | None``): schemathesis
# sends their items as plain form fields, which FastAPI rightly refuses. Positive checks are off here;
# negative data, schema conformance and 5xx are still checked.
UPLOAD_ARRAYS: dict[str, str] = {
    r"^/api/v1/worker/assignments/\{assignment_id\}/finish$": "multipart 文件数组（anyOf）：工具发成普通字段",
}
CUSTOM_CHECK = "valid_request_not_malformed"


@schemathesis.check
def valid_request_not_malformed(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schema-valid input must never fail request validation (422 ``invalid_request``): that would
    mean the published schema promises more than the app accepts."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = None
    if code == "invalid_request":
        raise Failure(
            operation=case.operation.label,
            title="Schema-valid request failed request validation",
            message=response.text[:300],
        )
    return None


@dataclass
class OperationStats:
    cases: int = 0
    server_errors: int = 0
    schema_violations: int = 0
    other_failures: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)  # a few failures, for the reader to reproduce


@dataclass
class FuzzReport:
    operations: dict[str, OperationStats]
    skipped: dict[str, str]
    errors: list[str]
    elapsed_s: float
    phases: dict[str, int]

    @property
    def cases(self) -> int:
        return sum(op.cases for op in self.operations.values())

    @property
    def server_errors(self) -> int:
        return sum(op.server_errors for op in self.operations.values())

    @property
    def schema_violations(self) -> int:
        return sum(op.schema_violations for op in self.operations.values())

    @property
    def other_failures(self) -> int:
        return sum(op.other_failures for op in self.operations.values())

    def failing(self) -> dict[str, OperationStats]:
        return {
            name: op
            for name, op in self.operations.items()
            if op.server_errors or op.schema_violations or op.other_failures
        }


def _login(schema: Any, username: str, password: str) -> str:
    response = (
        schema["/api/v1/auth/login"]["POST"].Case(body={"username": username, "password": password}).call()
    )
    if response.status_code != 200:
        raise RuntimeError(f"login as {username} failed: {response.status_code} {response.text[:200]}")
    return response.json()["token"]


def _open_session(schema: Any, prefix: str) -> tuple[str, str]:
    account_no, last4 = DEMO_ACCOUNT
    body = {"channel": "web", "account_no": account_no, "phone_last4": last4}
    response = schema[f"{prefix}/sessions"]["POST"].Case(body=body).call()
    if response.status_code != 201:
        raise RuntimeError(f"{prefix} session failed: {response.status_code} {response.text[:200]}")
    data = response.json()
    return data["session_id"], data["token"]


def make_config(
    schema: Any, *, examples: int, seed: int, stateful: bool, coverage: bool
) -> schemathesis.Config:
    """The run's configuration; logs in through ``schema`` (the app must be reachable)."""
    admin = _login(schema, *ADMIN)
    worker = _login(schema, *WORKER)
    operations: list[dict[str, Any]] = [
        {"include-path-regex": "^/api/v1/worker/", "headers": {"Authorization": f"Bearer {worker}"}}
    ]
    for prefix in ("/api/v1/chat", "/api/v1/app"):
        session_id, token = _open_session(schema, prefix)
        operations.append(
            {
                "include-path-regex": f"^{prefix}/sessions/{{session_id}}",
                "headers": {"Authorization": f"Bearer {token}"},
                "parameters": {"path.session_id": session_id},
            }
        )
    operations += [{"include-path-regex": regex, "enabled": False} for regex in STREAMS]
    operations += [{"include-path-regex": regex, "max-stream-events": 1} for regex in OPEN_WITH_READY]
    operations += [
        {
            "include-path-regex": regex,
            "checks": {"positive_data_acceptance": {"enabled": False}, CUSTOM_CHECK: {"enabled": True}},
        }
        for regex in BUSINESS_RULES
    ]
    operations += [
        {
            "include-path-regex": regex,
            "checks": {"positive_data_acceptance": {"enabled": False}, CUSTOM_CHECK: {"enabled": False}},
        }
        for regex in UPLOAD_ARRAYS
    ]
    return schemathesis.Config.from_dict(
        {
            "seed": seed,
            "headers": {"Authorization": f"Bearer {admin}"},
            "continue-on-failure": True,
            "request-timeout": 30,
            "generation": {"max-examples": examples, "mode": "all", "no-shrink": True},
            "checks": {"enabled": True, CUSTOM_CHECK: {"enabled": False}},
            "phases": {
                "coverage": {"enabled": coverage},
                "stateful": {"enabled": stateful, "max-steps": max(examples, 10)},
            },
            "operations": operations,
        }
    )


def filter_query(_context: Any, query: dict[str, Any] | None) -> bool:
    """Drop generated queries holding an object or a list of objects: in a form-style query string
    ``{"community": {"a": 1}}`` becomes ``?a=1``, the same request as leaving ``community`` out, so
    the "negative" case it was meant to be cannot be sent (schemathesis flagged its acceptance)."""
    for value in (query or {}).values():
        items = value if isinstance(value, list) else [value]
        if any(isinstance(item, dict) for item in items):
            return False
    return True


def filter_failure(_context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but one: schema-valid text holding U+0000, refused by the app's one
    documented rule (422 ``nul_character``: PostgreSQL cannot store it). A JSON schema cannot say
    "no U+0000" for every string; the rejection is deliberate, and a 5xx would still be counted."""
    if not isinstance(failure, RejectedPositiveData):
        return True
    try:
        return response.json()["error"]["code"] != "nul_character"
    except (ValueError, KeyError, TypeError):
        return True


def _describe(check: str, failure: Any, response: Any) -> str:
    status = response.status_code if response is not None else "-"
    body = response.content[:160].decode("utf-8", "replace") if response is not None else ""
    message = " ".join((failure.message or "").split())[:240]
    return f"{check}: {failure.title} [{status}] {message} | {body}"


def _absorb(report: dict[str, OperationStats], recorder: Any) -> None:
    labels = {case_id: node.value.operation.label for case_id, node in recorder.cases.items()}
    for label in labels.values():
        report.setdefault(label, OperationStats()).cases += 1
    for case_id, interaction in recorder.interactions.items():
        label = labels.get(case_id)
        if label and interaction.response is not None and interaction.response.status_code >= 500:
            report[label].server_errors += 1
    for case_id, checks in recorder.checks.items():
        label = labels.get(case_id)
        if label is None:
            continue
        stats = report[label]
        for check in checks:
            if check.status.value != "failure":
                continue
            if check.name == "not_a_server_error":
                continue  # counted from the responses themselves, above
            if check.name in SCHEMA_CHECKS:
                stats.schema_violations += 1
            else:
                stats.other_failures += 1
            stats.failures[check.name] += 1
            if len(stats.samples) < 3:
                interaction = recorder.interactions.get(case_id)
                response = interaction.response if interaction else None
                stats.samples.append(_describe(check.name, check.failure_info.failure, response))


def run_openapi_fuzz(
    app: Any,
    *,
    examples: int,
    seed: int = 20261122,
    stateful: bool = True,
    coverage: bool = True,
    progress: Callable[[str], None] | None = None,
) -> FuzzReport:
    """Fuzz every operation of ``app`` (a FastAPI app whose lifespan has not been started).

    Schemathesis starts the lifespan in its own event-loop thread on first contact and keeps it
    for the process; call ``stop_apps`` when done.
    """
    started = time.monotonic()
    probe = schemathesis.openapi.from_asgi("/openapi.json", app)
    config = make_config(probe, examples=examples, seed=seed, stateful=stateful, coverage=coverage)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    schema.hook(filter_query)
    schema.hook(filter_failure)
    skipped = {
        f"{method.upper()} {path}": reason
        for path, methods in probe.raw_schema["paths"].items()
        for method in methods
        for regex, reason in STREAMS.items()
        if _matches(regex, path)
    }
    stats: dict[str, OperationStats] = {}
    errors: list[str] = []
    phases: Counter[str] = Counter()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            before = sum(op.cases for op in stats.values())
            _absorb(stats, event.recorder)
            phases[event.phase.value] += sum(op.cases for op in stats.values()) - before
            if progress and event.phase != PhaseName.STATEFUL_TESTING:
                progress(event.recorder.label)
        elif isinstance(event, events.NonFatalError):
            # Over ASGI an unhandled exception reaches the client as the exception itself (after
            # the app's 500), not as a response: it is a 5xx of that operation.
            stats.setdefault(event.label, OperationStats()).server_errors += 1
            errors.append(f"{event.label}: {type(event.value).__name__}: {event.value}"[:400])
        elif isinstance(event, events.FatalError):
            errors.append(f"fatal: {type(event.exception).__name__}: {event.exception}"[:400])
    return FuzzReport(
        operations=dict(sorted(stats.items())),
        skipped=skipped,
        errors=errors,
        elapsed_s=time.monotonic() - started,
        phases=dict(phases),
    )


def _matches(regex: str, path: str) -> bool:
    return re.search(regex, path) is not None


def stop_apps() -> None:
    """End the lifespans schemathesis started (engine disposal, background tasks)."""
    from schemathesis.python import asgi

    asgi.shutdown_lifespans()


def format_report(report: FuzzReport, *, examples: int) -> Iterable[str]:
    yield f"OpenAPI 模糊测试（schemathesis {schemathesis.__version__}，每个接口 {examples} 例，全部检查）"
    yield f"{'接口':<72}{'用例':>7}{'5xx':>6}{'违反模式':>8}{'其它':>6}"
    for name, op in report.operations.items():
        yield f"{name:<72}{op.cases:>7}{op.server_errors:>6}{op.schema_violations:>8}{op.other_failures:>6}"
    yield (
        f"{'合计（' + str(len(report.operations)) + ' 个接口）':<72}{report.cases:>7}"
        f"{report.server_errors:>6}{report.schema_violations:>8}{report.other_failures:>6}"
    )
    yield "各阶段用例：" + "，".join(f"{phase} {count}" for phase, count in report.phases.items())
    for name, reason in report.skipped.items():
        yield f"跳过 {name}：{reason}"
    for name, op in report.failing().items():
        yield f"失败 {name}: {dict(op.failures)}"
        for sample in op.samples:
            yield f"    {sample}"
    for error in report.errors:
        yield f"错误 {error}"
    yield f"用时 {report.elapsed_s:.1f} 秒"
