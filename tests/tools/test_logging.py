import io
import json
import logging

from tools.logging import configure_logging, get_logger


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_structlog_events_are_json_and_masked() -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", json=True, stream=stream)
    get_logger("t").info("binding_attempt", phone="13912340001", text="住3号楼2单元501室")
    (line,) = _lines(stream)
    assert line["event"] == "binding_attempt"
    assert line["phone"] == "139****0001"
    assert "501" not in line["text"]


def test_stdlib_records_from_libraries_are_masked_too() -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", json=True, stream=stream)
    logging.getLogger("uvicorn.access").info("GET /bind?phone=%s", "13912340001")
    (line,) = _lines(stream)
    assert "13912340001" not in line["event"] and "139****0001" in line["event"]


def test_tracebacks_are_masked() -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", json=True, stream=stream)
    try:
        raise ValueError("bad id 11010519491231002X")
    except ValueError:
        get_logger("t").exception("failed")
    (line,) = _lines(stream)
    assert "11010519491231002X" not in json.dumps(line, ensure_ascii=False)
    assert "ValueError" in line["exception"]
