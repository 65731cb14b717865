"""What the offline policy reads from a resident's words, beyond the classifier's labels.

Slot values are extracted from every resident message in the conversation so far, so a resident
can answer "全屋都不热" in one message and "屋里才14度" in the next. Patterns favour the colloquial
forms residents actually type (咋, 啥时候, 交/缴, 地热/地暖).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tools.text import normalize, temperatures

WANTS_VISIT = re.compile(
    r"派(个)?人|上门|报修|师傅(来|过来|上来)|来(个)?人|修一?下|给修|安排(师傅|维修)|要求维修|建(个)?(工)?单"
)
SELF_CHECK_FAILED = re.compile(
    r"(还是|依然|仍然|照样)[^，。,.!！?？]{0,3}(不|没)|没(有)?用|不管用|试(过|了)|放(过)?气了|都(弄|试)"
)
ASKS_HOW = re.compile(r"怎么|咋|如何|哪里|在哪|哪儿|什么方式|啥方式|方式|渠道|流程|需要(带|什么)|要带")
WANTS_PAY = re.compile(r"(我要|我想|帮我|现在|在线|马上|直接)?(交|缴|付|支付)(费|钱|款|了吧)?|付款|缴纳|充值")
ASKS_BILL = re.compile(
    r"多少钱|欠(费|多少|了)|账单|明细|应(交|缴)|还差|滞纳金|费用|查(一?下)?(费|账|钱)|几块|收了我"
)
# The resident's own account ("我家还欠多少"), as opposed to tariffs in general ("暖气费多少钱").
OWN_HOME = re.compile(r"我(家|的|们家|这户)|俺家|咱家|自己家")
ASKS_HISTORY = re.compile(r"(缴|交)费记录|交过|缴过|付过|记录|(上|去)年交")
ASKS_INVOICE = re.compile(r"发票|开票|报销")
INVOICE_TITLE = re.compile(r"(个人|单位|公司)(抬头)?[:：]?\s*([\u4e00-\u9fa5A-Za-z0-9（）()]{0,40})")
TAX_NO = re.compile(r"(?<![0-9A-Z])([0-9A-Z]{15,20})(?![0-9A-Z])")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
TICKET_NO = re.compile(r"(?<![A-Za-z0-9])(BX\d{8,14})(?!\d)", re.IGNORECASE)
APPLY_SUSPEND = re.compile(r"(我要|我想|申请|办理|帮我)(一?下)?(报停|停供|停暖)")
APPLY_RESUME = re.compile(r"(我要|我想|申请|办理|帮我)(一?下)?(恢复供暖|恢复|开通|开栓|复供)")
CANCEL = re.compile(r"取消(工单|报修|预约)|不用(来|修)了|不用师傅|已经好了|自己修好")
ASKS_WHY_STOPPED = re.compile(r"通知|停热|停暖|检修|抢修|改造|什么时候恢复|几点恢复")
GREETING = re.compile(r"^(你好|您好|在吗|在不在|hello|hi|喂|哈喽|有人吗)[!！?？。~～\s]*$", re.IGNORECASE)
THANKS = re.compile(r"谢谢|感谢|辛苦|点赞|好评|给力|满意")

WHOLE_HOME = re.compile(r"全屋|整个(屋|家|房)|所有(房间|暖气)|都不热|全都不|家里都|哪(个|都)屋都")
PARTIAL = re.compile(r"(一|两|几|个别|部分|有的|某)(个|组|片)?(房间|屋|暖气片|片)|卧室|客厅|书房|厨房|卫生间")
TOP_HOT = re.compile(r"上(面|边|头)?热下(面|边|头)?(凉|冷|不热)|上热下凉")
FLOOR = re.compile(r"地暖|地热|回水|分水器")
BUILDING = re.compile(r"邻居|整(栋|个楼|楼)|全楼|楼上楼下|一个单元|(单元|楼)里都|别人家|对门")
SINCE = re.compile(
    r"(昨天|前天|今天|今早|早上|昨晚|晚上|一直|开栓|开始供暖|供暖以来|好几天|[一二两三四五六七八九十\d]+天|一天一夜|一周|一个星期)"
)
LEAK_NOW = re.compile(r"爆(管|了)|跑水|水淹|喷水|哗哗|漏(得|的)?(厉害|很大)|淹了|流到楼下")


@dataclass
class Slots:
    scope: str | None = None  # "whole_home" | "partial" | "top_hot" | "floor"
    building_wide: bool = False
    since: str | None = None
    temperature: int | None = None
    ticket_no: str | None = None
    invoice_title: str | None = None
    tax_no: str | None = None
    email: str | None = None
    notes: list[str] = field(default_factory=list)

    def missing_no_heat(self) -> list[str]:
        questions = []
        if self.scope is None:
            questions.append("是全屋都不热，还是个别房间/暖气片不热（或上热下凉、地暖回水凉）？")
        if self.temperature is None:
            questions.append("现在室内大概多少度？")
        if self.since is None:
            questions.append("从什么时候开始不热的？")
        return questions

    def symptom_text(self) -> str:
        scope = {
            "whole_home": "全屋不热",
            "partial": "部分房间不热",
            "top_hot": "上热下凉",
            "floor": "地暖不热/回水凉",
        }.get(self.scope or "", "暖气不热")
        parts = [scope]
        if self.building_wide:
            parts.append("邻居/整栋楼也不热")
        if self.temperature is not None:
            parts.append(f"室温约{self.temperature}℃")
        if self.since:
            parts.append(f"自{self.since}起")
        return "，".join(parts)


def extract_slots(messages: list[str]) -> Slots:
    """Slots from the resident's messages, later messages overriding earlier ones. Symptoms are read
    from the normalised text (暖氣不熱, full-width digits); titles and e-mails are kept as typed."""
    slots = Slots()
    for raw in messages:
        text = normalize(raw)
        if TOP_HOT.search(text):
            slots.scope = "top_hot"
        elif FLOOR.search(text):
            slots.scope = "floor"
        elif WHOLE_HOME.search(text):
            slots.scope = "whole_home"
        elif PARTIAL.search(text):
            slots.scope = "partial"
        if BUILDING.search(text):
            slots.building_wide = True
        if match := SINCE.search(text):
            slots.since = match.group(1)
        for value in temperatures(text):
            slots.temperature = value
        if match := TICKET_NO.search(text):
            slots.ticket_no = match.group(1).upper()
        if match := INVOICE_TITLE.search(raw):
            kind, name = match.group(1), match.group(3).strip()
            slots.invoice_title = "个人" if kind == "个人" and not name else (name or None)
        if match := TAX_NO.search(raw.upper()):
            slots.tax_no = match.group(1)
        if match := EMAIL.search(raw):
            slots.email = match.group(0)
    return slots
