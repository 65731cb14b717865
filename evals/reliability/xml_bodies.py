"""Hypothesis strategies for hostile XML webhook bodies, and the classic XML bombs.

Every generated body carries a ``kind`` that says what the endpoint owes it:

    valid      a well-formed message (the control: it must get through and be handled)
    fields     well-formed XML whose fields have random names, types and shapes (lists, nesting)
    typed      a real message with some fields of the wrong type or shape
    missing    a real message with required fields taken out
    malformed  not well-formed XML (a strict prefix, a mismatched tag, an unclosed CDATA)
    garbage    random bytes or text
    dtd        a DTD: entity declarations, external entities, parameter entities, UTF-16 encoded
    huge       over the endpoint's size cap

``malformed``, ``garbage``, ``dtd`` and ``huge`` must be refused (4xx); nothing may ever be a 5xx.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

# --- the classic bombs (https://en.wikipedia.org/wiki/Billion_laughs_attack and friends) ---------

_LOLS = "".join(
    f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' if i else '<!ENTITY lol0 "lol">' for i in range(10)
)


def _wechat_text(content: str, *, msg_id: str = "7000000000000000001") -> str:
    return (
        "<xml><ToUserName><![CDATA[gh_hengnuan]]></ToUserName>"
        "<FromUserName><![CDATA[oFuzzBomb000000000000000000]]></FromUserName>"
        "<CreateTime>1795312800</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{content}</Content><MsgId>{msg_id}</MsgId></xml>"
    )


def make_bombs(listener: str) -> dict[str, bytes]:
    """The bombs; ``listener`` is a URL we watch, so an XXE that fetched anything would show."""
    return {
        # 10 levels x 10 references: 10^9 "lol"s (~3 GB) if a parser expanded it
        "billion_laughs": f'<?xml version="1.0"?><!DOCTYPE xml [{_LOLS}]>{_wechat_text("&lol9;")}'.encode(),
        # one 50 kB entity referenced 1,000 times: no nesting for a depth limit to catch, ~50 MB expanded
        "quadratic_blowup": (
            f'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "{"x" * 50_000}">]>'
            + _wechat_text("&a;" * 1_000)
        ).encode(),
        "xxe_file": (
            '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            + _wechat_text("&xxe;")
        ).encode(),
        "xxe_http": (
            f'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "{listener}/xxe">]>'
            + _wechat_text("&xxe;")
        ).encode(),
        "xxe_parameter": (
            f'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY % dtd SYSTEM "{listener}/evil.dtd"> %dtd;]>'
            + _wechat_text("x")
        ).encode(),
        "body_10mb": _wechat_text("暖" * (10 * 1024 * 1024 // 3)).encode(),
    }


@dataclass(frozen=True)
class Body:
    kind: str
    data: bytes

    def __repr__(self) -> str:  # hypothesis prints failing examples; keep huge ones readable
        shown = self.data if len(self.data) <= 300 else self.data[:300] + b"..."
        return f"Body({self.kind!r}, {len(self.data)} bytes, {shown!r})"


MUST_REFUSE = frozenset({"malformed", "garbage", "dtd", "huge"})

# --- building blocks ---------------------------------------------------------------------------

_XML_CHARS = st.characters(
    codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00\ufffe\uffff"
).filter(lambda c: c in "\t\n\r" or ord(c) >= 0x20)
xml_text = st.text(_XML_CHARS, max_size=80)
odd_values = st.sampled_from(
    ["", "-1", "0", "1e309", "NaN", "inf", "0x10", "１２３", "2026-11-22", "true", "null", "💩", " ", "\n"]
)
value = st.one_of(
    xml_text,
    odd_values,
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
FIELD_NAMES = (
    "ToUserName FromUserName CreateTime MsgType Content MsgId Event EventKey PicUrl MediaId Format "
    "Recognition Location_X Location_Y Scale Label Title Description Url Ticket Latitude Longitude"
).split()
tag_name = st.one_of(
    st.sampled_from(FIELD_NAMES), st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
)
msg_type = st.one_of(
    st.sampled_from(["text", "image", "voice", "video", "shortvideo", "location", "link", "event", "file"]),
    st.sampled_from(["device_text", "device_event", "TEXT", "Event", ""]),
    xml_text,
)
event_name = st.one_of(
    st.sampled_from(["subscribe", "unsubscribe", "CLICK", "VIEW", "SCAN", "LOCATION", "MASSSENDJOBFINISH"]),
    xml_text,
)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def element(draw: Any, name: str, content: str) -> str:
    """One field in any of the shapes WeChat (or an attacker) might send."""
    shape = draw(st.sampled_from(["cdata", "text", "nested", "empty", "repeated", "attrs"]))
    safe_cdata = content.replace("]]>", "]]]]><![CDATA[>")
    if shape == "cdata":
        return f"<{name}><![CDATA[{safe_cdata}]]></{name}>"
    if shape == "text":
        return f"<{name}>{_escape(content)}</{name}>"
    if shape == "nested":
        return f"<{name}><{name}>{_escape(content)}</{name}><x/></{name}>"
    if shape == "empty":
        return f"<{name}/>"
    if shape == "repeated":  # xmltodict turns a repeated tag into a list
        return f"<{name}>{_escape(content)}</{name}>" * draw(st.integers(2, 3))
    return f'<{name} a="{_escape(content).replace(chr(34), "&quot;")}">{_escape(content)}</{name}>'


# --- WeChat official-account messages ----------------------------------------------------------

openid = st.from_regex(r"o[A-Za-z0-9_-]{27}", fullmatch=True)
msg_id = st.integers(min_value=1, max_value=2**63 - 1).map(str)


def render_message(fields: list[tuple[str, str]]) -> str:
    return "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields) + "</xml>"


cdata_text = xml_text.filter(lambda t: bool(t.strip()) and "]]>" not in t)


@st.composite
def wechat_message(draw: Any, *, create_time: int = 1795312800) -> list[tuple[str, str]]:
    """A message WeChat could really push: text, menu click, location, voice, image or subscribe."""
    head = [("ToUserName", "gh_hengnuan"), ("FromUserName", draw(openid)), ("CreateTime", str(create_time))]
    kind = draw(st.sampled_from(["text", "text", "text", "click", "location", "voice", "image", "subscribe"]))
    if kind == "click":
        key = draw(st.sampled_from(["PAY", "BILL", "REPORT_NO_HEAT", "PROGRESS", "HUMAN", "UNKNOWN_KEY"]))
        return [*head, ("MsgType", "event"), ("Event", "CLICK"), ("EventKey", key)]
    if kind == "subscribe":
        return [*head, ("MsgType", "event"), ("Event", "subscribe")]
    tail = [("MsgId", draw(msg_id))]
    if kind == "location":
        x, y = (draw(st.floats(-90, 90, allow_nan=False)) for _ in range(2))
        return [*head, ("MsgType", "location"), ("Location_X", str(x)), ("Location_Y", str(y)),
                ("Scale", "15"), ("Label", draw(cdata_text)), *tail]  # fmt: skip
    if kind == "voice":
        return [*head, ("MsgType", "voice"), ("MediaId", "m1"), ("Format", "amr"),
                ("Recognition", draw(cdata_text)), *tail]  # fmt: skip
    if kind == "image":
        url = draw(
            st.sampled_from(["http://mmbiz.qpic.cn/x.jpg", "http://127.0.0.1:9/x.jpg", "http://[", ""])
        )
        return [*head, ("MsgType", "image"), ("PicUrl", url), ("MediaId", "m1"), *tail]
    return [*head, ("MsgType", "text"), ("Content", draw(cdata_text)), *tail]


@st.composite
def retyped(draw: Any, fields: list[tuple[str, str]]) -> str:
    """A real message with one to three fields given the wrong type or shape (nested, repeated)."""
    chosen = set(draw(st.lists(st.sampled_from([k for k, _ in fields]), min_size=1, max_size=3, unique=True)))
    parts = [
        draw(element(k, draw(value))) if k in chosen else f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields
    ]
    return "<xml>" + "".join(parts) + "</xml>"


@st.composite
def wechat_fields(draw: Any) -> str:
    parts = []
    if draw(st.booleans()):  # usually keep the sender, so the body gets past the identity check
        parts.append(draw(element("ToUserName", draw(value))))
        parts.append(draw(element("FromUserName", draw(openid | value))))
    parts.append(f"<MsgType><![CDATA[{draw(msg_type).replace(']]>', '')}]]></MsgType>")
    for _ in range(draw(st.integers(0, 8))):
        name = draw(tag_name)
        content = draw(event_name) if name == "Event" else draw(value)
        parts.append(draw(element(name, content)))
    draw(st.randoms(use_true_random=False)).shuffle(parts)
    return "<xml>" + "".join(parts) + "</xml>"


@st.composite
def malformed(draw: Any, document: str) -> str:
    how = draw(st.sampled_from(["prefix", "mismatch", "cdata", "double_root"]))
    if how == "prefix":
        return document[: draw(st.integers(0, len(document) - 1))]
    if how == "mismatch":
        return document.replace("</MsgType>", "</MsgTyp>", 1) if "</MsgType>" in document else document[:-1]
    if how == "cdata":
        return document.replace("]]>", "", 1) if "]]>" in document else document[:-2]
    return document + document


def dtd_variants(document: str) -> st.SearchStrategy[bytes]:
    head = document[len("<xml>") :]
    decls = st.sampled_from(
        [
            '<!DOCTYPE xml [<!ENTITY e "暖气">]>',
            '<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
            '<!DOCTYPE xml [<!ENTITY e SYSTEM "http://169.254.169.254/">]>',
            '<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>',
            '<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/x.dtd">',
            '<!doctype xml [<!entity e "x">]>',
            f"<!DOCTYPE xml [{_LOLS}]>",
        ]
    )

    @st.composite
    def build(draw: Any) -> bytes:
        decl = draw(decls)
        ref = draw(st.sampled_from(["&e;", "&lol9;", "x"]))
        text = f'<?xml version="1.0"?>{decl}<xml>{head.replace("</xml>", f"<Extra>{ref}</Extra></xml>")}'
        encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-16"]))
        if encoding == "utf-16":
            text = text.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
        return text.encode(encoding)

    return build()


def wechat_bodies(*, max_body: int, create_time: int = 1795312800) -> st.SearchStrategy[Body]:
    """Bodies for the official account's POST endpoint (before any encryption)."""
    message = wechat_message(create_time=create_time).map(render_message)
    valid = message.map(lambda d: Body("valid", d.encode()))
    fields = wechat_fields().map(lambda d: Body("fields", d.encode()))
    typed = wechat_message(create_time=create_time).flatmap(retyped).map(lambda d: Body("typed", d.encode()))
    missing = st.tuples(wechat_message(create_time=create_time), st.data()).map(
        lambda pair: Body("missing", _without_some(pair[0], pair[1]).encode())
    )
    broken = message.flatmap(malformed).map(lambda d: Body("malformed", d.encode()))
    garbage = st.one_of(st.binary(max_size=2000), st.text(max_size=500).map(str.encode)).map(
        lambda d: Body("garbage", d)
    )
    dtd = message.flatmap(dtd_variants).map(lambda d: Body("dtd", d))
    huge = st.integers(max_body + 1, max_body * 4).map(
        lambda n: Body(
            "huge", render_message([("MsgType", "text"), ("Content", "热" * (n // 3 + 1))]).encode()
        )
    )
    return _evenly(valid, fields, typed, missing, broken, garbage, dtd, huge)


def _without_some(fields: list[tuple[str, str]], data: Any) -> str:
    names = [k for k, _ in fields]
    drop = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
    return render_message([(k, v) for k, v in fields if k not in drop])


# --- WeChat Pay v2 payment notifications ------------------------------------------------------

PAY_REQUIRED = ("appid", "mch_id", "out_trade_no", "total_fee", "time_end", "transaction_id", "return_code")


def pay_field_values(real: dict[str, str]) -> dict[str, st.SearchStrategy[str]]:
    """Per validated field, values that differ from the genuine one (so the body cannot be valid)."""

    def other(key: str, *extra: str) -> st.SearchStrategy[str]:
        return st.one_of(value, st.sampled_from(list(extra) or [""])).filter(lambda v: v != real[key])

    return {
        "appid": other("appid", "wx1111111111111111"),
        "mch_id": other("mch_id", "1900000002"),
        "out_trade_no": other("out_trade_no", "WL000000000000000000"),
        "total_fee": other("total_fee", "-1", "1.5", "00", str(int(real["total_fee"]) + 1)),
        "fee_type": other("fee_type", "USD", "cny"),
        "time_end": other("time_end", "20200101000000", "20991231235959", "2026112210000"),
        "result_code": other("result_code", "FAIL"),
        "return_code": other("return_code", "FAIL"),
        # any other sign_type is verified as MD5 (what we sign with), so only this one invalidates
        "sign_type": st.just("HMAC-SHA256"),
    }


def pay_bodies(real: dict[str, str], *, sign: Any, api_key: str, max_bytes: int) -> st.SearchStrategy[Body]:
    """Bodies for the payment callback, built around ``real`` (a genuine notification's fields).

    ``sign(fields, key)`` signs a field dict; kinds beyond the module docstring's: ``forged``
    (signed with another key), ``signed_garbage`` (random fields, genuinely signed) and ``mutated``
    (the genuine notice with one validated field changed or removed, genuinely signed).
    """
    from wechatpy.pay.utils import dict_to_xml

    def render(fields: dict[str, str], key: str) -> bytes:
        clean = {k: v.replace("]]>", "") for k, v in fields.items()}
        return dict_to_xml(clean, sign(clean, key)).encode("utf-8")

    values = pay_field_values(real)
    document = render(real, api_key).decode()
    mutated = st.one_of(
        st.sampled_from(sorted(values)).flatmap(
            lambda key: values[key].map(lambda v, key=key: render({**real, key: v}, api_key))
        ),
        st.sampled_from(PAY_REQUIRED).map(
            lambda key: render({k: v for k, v in real.items() if k != key}, api_key)
        ),
    ).map(lambda d: Body("mutated", d))
    names = st.from_regex(r"[a-z_]{1,16}", fullmatch=True)
    signed_garbage = st.dictionaries(names, value, max_size=20).map(
        lambda fields: Body("signed_garbage", render(fields, api_key))
    )
    forged = (
        st.text(string.ascii_letters + string.digits, min_size=1, max_size=40)
        .filter(lambda key: key != api_key)
        .map(lambda key: Body("forged", render(real, key)))
    )
    broken = malformed(document).map(lambda d: Body("malformed", d.encode()))
    garbage = st.one_of(st.binary(max_size=2000), st.text(max_size=500).map(str.encode)).map(
        lambda d: Body("garbage", d)
    )
    dtd = dtd_variants(document).map(lambda d: Body("dtd", d))
    shapes = st.sampled_from(
        [
            document.replace("<xml>", "<root>").replace("</xml>", "</root>"),
            document.replace("</xml>", f"<total_fee>{real['total_fee']}</total_fee></xml>"),
            document.replace("</xml>", "<detail><goods>1</goods></detail></xml>"),
            "<xml>" + "<a>1</a>" * 100 + "</xml>",
            "<xml/>",
        ]
    ).map(lambda d: Body("malformed", d.encode()))
    huge = st.integers(max_bytes + 1, max_bytes * 8).map(
        lambda n: Body("huge", render({**real, "attach": "x" * n}, api_key))
    )
    return _evenly(mutated, signed_garbage, forged, broken, garbage, dtd, shapes, huge)


def _evenly(*strategies: st.SearchStrategy[Body]) -> st.SearchStrategy[Body]:
    """Pick the kind first, uniformly: ``one_of`` favours its first branches early in a run."""
    return st.sampled_from(strategies).flatmap(lambda strategy: strategy)
