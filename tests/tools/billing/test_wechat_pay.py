"""WeChat Pay v2 wire format: signing with wechatpy, hardened XML parsing, notify builder, reply XML."""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wechatpy.pay.utils import calculate_signature

from tools.billing.wechat_pay import (
    MAX_NOTIFY_BYTES,
    build_notify_xml,
    format_time_end,
    parse_notify_xml,
    parse_time_end,
    render_notify_reply,
    sign,
    verify_signature,
)
from tools.errors import InvalidInput
from tools.settings import Settings

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]
KEY = SETTINGS.pay_api_key.get_secret_value()
WHEN = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><out_trade_no>&lol9;</out_trade_no></xml>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><out_trade_no>&xxe;</out_trade_no></xml>"""
QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "'
    + b"x" * 5000
    + b'">]><xml><a>'
    + b"&a;" * 2000
    + b"</a></xml>"
)

MALFORMED = {
    "empty": b"",
    "not xml": b"hello",
    "json": b'{"return_code": "SUCCESS"}',
    "unclosed": b"<xml><return_code>SUCCESS</return_code>",
    "wrong root": b"<root><return_code>SUCCESS</return_code></root>",
    "nested field": b"<xml><return_code><x>SUCCESS</x></return_code></xml>",
    "duplicate field": b"<xml><total_fee>1</total_fee><total_fee>100000</total_fee></xml>",
    "bad utf-8": b"<xml><a>\xff\xfe</a></xml>",
    "nul bytes": b"\x00" * 64,
    "too big": b"<xml><attach>" + b"a" * MAX_NOTIFY_BYTES + b"</attach></xml>",
    "too many fields": b"<xml>" + b"".join(b"<f%d>1</f%d>" % (i, i) for i in range(100)) + b"</xml>",
    "billion laughs": BILLION_LAUGHS,
    "external entity": XXE,
    "quadratic blowup": QUADRATIC,
}


def _notify(**overrides: object) -> bytes:
    fields: dict = {
        "settings": SETTINGS,
        "out_trade_no": "WL202611221000001234567890",
        "total_fee": 232700,
        "transaction_id": "4200002026112200000001",
        "time_end": WHEN,
    }
    fields.update(overrides)
    return build_notify_xml(**fields)  # type: ignore[arg-type]


def test_built_notification_parses_back_and_its_signature_verifies() -> None:
    fields = parse_notify_xml(_notify())
    assert fields["out_trade_no"] == "WL202611221000001234567890"
    assert fields["total_fee"] == "232700" and fields["time_end"] == "20261122100000"
    assert verify_signature(fields, KEY)
    unsigned = {k: v for k, v in fields.items() if k != "sign"}
    assert fields["sign"] == calculate_signature(unsigned, KEY)


def test_signature_over_a_tampered_field_fails() -> None:
    fields = parse_notify_xml(_notify())
    assert not verify_signature({**fields, "total_fee": "1"}, KEY)
    assert not verify_signature({k: v for k, v in fields.items() if k != "sign"}, KEY)
    assert not verify_signature(parse_notify_xml(_notify(api_key="someone-elses-key")), KEY)


def test_without_an_api_key_nothing_verifies() -> None:
    fields = parse_notify_xml(_notify(api_key=""))
    assert not verify_signature(fields, "")


def test_hmac_sha256_signed_notifications_verify_too() -> None:
    fields = {"appid": "wx1", "sign_type": "HMAC-SHA256", "total_fee": "1"}
    fields["sign"] = sign(fields, KEY, sign_type="HMAC-SHA256")
    assert verify_signature(fields, KEY)
    assert not verify_signature({**fields, "sign_type": "MD5"}, KEY)


def test_builder_refuses_values_that_would_break_the_xml() -> None:
    with pytest.raises(ValueError):
        _notify(extra={"attach": "]]><total_fee>1</total_fee>"})


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_and_hostile_bodies_are_invalid_input(body: bytes) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_notify_xml(body)
    assert caught.value.code == "malformed_xml"


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_parse_to_fields_or_invalid_input(body: bytes) -> None:
    try:
        fields = parse_notify_xml(body)
    except InvalidInput:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())


XML_PIECES = [
    *("<xml>", "</xml>", "<a>", "</a>", "<![CDATA[", "]]>", "&amp;", "&x;", "<!DOCTYPE x [", "]>"),
    *("<!ENTITY x 'y'>", "<?xml version='1.0'?>", "SUCCESS", "1", "<sign>", "</sign>", "\x00", "é", "<", ">"),
]
xml_ish = st.lists(st.sampled_from(XML_PIECES), max_size=30).map(lambda parts: "".join(parts).encode("utf-8"))


@settings(max_examples=2000, deadline=None)
@given(xml_ish)
def test_xml_shaped_garbage_parses_to_fields_or_invalid_input(body: bytes) -> None:
    with contextlib.suppress(InvalidInput):
        parse_notify_xml(body)


def test_time_end_is_beijing_wall_clock_time() -> None:
    assert format_time_end(WHEN) == "20261122100000"
    assert parse_time_end("20261122100000") == WHEN
    for bad in ("", "2026112210000", "2026-11-22 10:00", "20261340100000", "２０２６１１２２１０００００"):
        with pytest.raises(InvalidInput):
            parse_time_end(bad)


def test_reply_xml_is_what_wechat_expects() -> None:
    ok = ET.fromstring(render_notify_reply())
    assert (ok.findtext("return_code"), ok.findtext("return_msg")) == ("SUCCESS", "OK")
    assert render_notify_reply().startswith(b"<xml><return_code><![CDATA[SUCCESS]]></return_code>")
    fail = ET.fromstring(render_notify_reply(ok=False, message="签名错误]]>"))
    assert (fail.findtext("return_code"), fail.findtext("return_msg")) == ("FAIL", "签名错误")
