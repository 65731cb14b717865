"""WeChat Pay API v2 wire format: MD5-signed flat XML, built and checked with wechatpy's own helpers.

Nothing here touches the network. ``make_prepay`` stands in for the ``unifiedorder`` call (its
``prepay_id`` and ``code_url`` are derived from the order number and the API key, so the same order
always yields the same payload); the callback side (``parse_notify_xml``, ``verify_signature``) is
what a real deployment runs. ``build_notify_xml`` produces genuine signed notifications for tests,
evals and load runs.

Parsing is hardened: a size cap, defusedxml with DTDs forbidden (no entity expansion, no external
entities), one flat ``<xml>`` of unique leaf fields. Every failure is ``InvalidInput`` — never an
uncaught exception, which WeChat would answer with endless retries.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import string
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException
from pydantic import BaseModel
from wechatpy.pay.utils import calculate_signature, calculate_signature_hmac, dict_to_xml

from tools.clock import COMPANY_TZ
from tools.errors import InvalidInput
from tools.settings import Settings

# wechatpy logs the whole signing string, API key included, at DEBUG: keep that logger above it.
logging.getLogger("wechatpy.pay.utils").setLevel(logging.INFO)

MAX_NOTIFY_BYTES = 16 * 1024
MAX_FIELDS = 64
TIME_FORMAT = "%Y%m%d%H%M%S"  # time_end is Beijing wall-clock time
NOTIFY_MAX_AGE = timedelta(hours=24)  # a payment older than this is a replay, not a retry
NOTIFY_MAX_SKEW = timedelta(minutes=5)  # how far in the future WeChat's clock may run ahead of ours
_ALPHABET = string.ascii_letters + string.digits
_TIME = re.compile(r"[0-9]{14}")  # ASCII digits only (str.isdigit accepts full-width ones)


class PrepayPayload(BaseModel):
    """What a channel needs to start paying: JSAPI parameters for WeixinJSBridge, or a QR code."""

    prepay_id: str
    jsapi: dict[str, str]  # appId, timeStamp, nonceStr, package, signType, paySign
    code_url: str  # weixin://wxpay/bizpayurl?pr=... for a Native (QR code) payment


def sign(params: Mapping[str, Any], api_key: str, *, sign_type: str = "MD5") -> str:
    """WeChat Pay v2 signature: sorted non-empty ``k=v`` pairs, ``&key=...``, MD5 (or HMAC-SHA256)."""
    fields = {k: v for k, v in params.items() if k != "sign"}
    if sign_type == "HMAC-SHA256":
        return calculate_signature_hmac(fields, api_key)
    return calculate_signature(fields, api_key)


def verify_signature(params: Mapping[str, str], api_key: str) -> bool:
    """Constant-time check of ``sign``; fails closed without a key (wechatpy would then sign
    without one, and anyone could forge)."""
    given = params.get("sign", "")
    if not given or not api_key:
        return False
    expected = sign(params, api_key, sign_type=params.get("sign_type", "MD5"))
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def parse_notify_xml(body: bytes) -> dict[str, str]:
    """A notification's fields, or ``InvalidInput`` for anything that is not a small flat ``<xml>``."""
    if not isinstance(body, bytes | bytearray) or not body:
        raise _malformed("通知内容为空")
    if len(body) > MAX_NOTIFY_BYTES:
        raise _malformed("通知内容过大")
    try:
        root = safe_xml.fromstring(bytes(body), forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError, UnicodeError, OverflowError, RecursionError):
        raise _malformed("通知不是有效的 XML") from None
    if root.tag != "xml" or len(root) > MAX_FIELDS:
        raise _malformed("通知格式不正确")
    fields: dict[str, str] = {}
    for child in root:
        if not isinstance(child.tag, str) or len(child) or child.tag in fields:
            raise _malformed("通知格式不正确")
        fields[child.tag] = child.text or ""
    return fields


def _malformed(reason: str) -> InvalidInput:
    return InvalidInput(f"支付通知无法解析：{reason}", code="malformed_xml")


def to_fen(amount: Decimal) -> int:
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of fen")
    return int(fen)


def format_time_end(moment: datetime) -> str:
    return moment.astimezone(COMPANY_TZ).strftime(TIME_FORMAT)


def parse_time_end(value: str) -> datetime:
    if not _TIME.fullmatch(value):
        raise InvalidInput("支付通知的支付完成时间格式不正确", code="malformed_xml")
    try:
        return datetime.strptime(value, TIME_FORMAT).replace(tzinfo=COMPANY_TZ)
    except ValueError:
        raise InvalidInput("支付通知的支付完成时间格式不正确", code="malformed_xml") from None


def _derive(api_key: str, purpose: str, size: int) -> str:
    digest = hmac.new(api_key.encode("utf-8"), purpose.encode("utf-8"), hashlib.sha256).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest)[:size]


def make_prepay(*, order_no: str, created_at: datetime, settings: Settings) -> PrepayPayload:
    """The payload a JSAPI page (公众号) or a QR code needs for this order; signed, deterministic."""
    api_key = settings.pay_api_key.get_secret_value()
    stamp = format_time_end(created_at)
    prepay_id = f"wx{stamp}{_derive(api_key, f'prepay:{order_no}', 20).lower()}"
    jsapi = {
        "appId": settings.wechat_app_id,
        "timeStamp": str(int(created_at.timestamp())),
        "nonceStr": _derive(api_key, f"nonce:{order_no}", 32),
        "package": f"prepay_id={prepay_id}",
        "signType": "MD5",
    }
    jsapi["paySign"] = sign(jsapi, api_key)
    code_url = f"weixin://wxpay/bizpayurl?pr={_derive(api_key, f'qr:{order_no}', 7)}"
    return PrepayPayload(prepay_id=prepay_id, jsapi=jsapi, code_url=code_url)


def build_notify_xml(
    *,
    settings: Settings,
    out_trade_no: str,
    total_fee: int,
    transaction_id: str,
    time_end: datetime,
    openid: str = "oWarmlineTestPayer000000000",
    result_code: str = "SUCCESS",
    nonce_str: str | None = None,
    extra: Mapping[str, str] | None = None,
    api_key: str | None = None,
) -> bytes:
    """A signed WeChat Pay v2 payment notification, exactly as WeChat would POST it.

    ``api_key`` overrides the key it is signed with (a forgery); ``extra`` adds or replaces fields
    before signing (``{"mch_id": ...}`` for a wrong merchant, ``{"attach": ...}``).
    """
    fields: dict[str, str] = {
        "appid": settings.wechat_app_id,
        "mch_id": settings.pay_mch_id,
        "nonce_str": nonce_str or secrets.token_hex(16),
        "result_code": result_code,
        "return_code": "SUCCESS",
        "openid": openid,
        "is_subscribe": "Y",
        "trade_type": "JSAPI",
        "bank_type": "OTHERS",
        "total_fee": str(total_fee),
        "cash_fee": str(total_fee),
        "fee_type": "CNY",
        "transaction_id": transaction_id,
        "out_trade_no": out_trade_no,
        "time_end": format_time_end(time_end),
        **(extra or {}),
    }
    for key, value in fields.items():
        if "]]>" in value or not key.isidentifier():
            raise ValueError(f"field {key!r} cannot be carried in a notification")
    signature = sign(fields, api_key or settings.pay_api_key.get_secret_value())
    return dict_to_xml(fields, signature).encode("utf-8")


def render_notify_reply(*, ok: bool = True, message: str = "OK") -> bytes:
    """The XML answer WeChat expects; ``SUCCESS`` stops its retries, ``FAIL`` asks for them."""
    code = "SUCCESS" if ok else "FAIL"
    text = message.replace("]]>", "")
    return (
        f"<xml><return_code><![CDATA[{code}]]></return_code><return_msg><![CDATA[{text}]]></return_msg></xml>"
    ).encode()
