import pytest

from agent.policy.decide import BIND_HINT, TurnView, decide
from agent.policy.extract import best_sentences, steps_of
from agent.policy.signals import extract_slots
from tools.text import chinese_number

TOOLS = {
    "search_knowledge",
    "create_repair_ticket",
    "get_my_bills",
    "create_payment_order",
    "get_payment_history",
    "request_invoice",
    "get_ticket_progress",
    "cancel_my_ticket",
    "apply_suspension",
    "apply_resumption",
}


def view(text: str, category: str, *, urgency="normal", bound=True, history=(), acts=()) -> TurnView:
    return TurnView(
        text=text,
        category=category,
        urgency=urgency,
        emotion="neutral",
        bound=bound,
        resident_texts=[*history, text],
        previous_acts=list(acts),
        available_tools=TOOLS,
    )


def test_slots_accumulate_over_messages() -> None:
    slots = extract_slots(["暖气不热", "全屋都不热，屋里才十四度", "从昨天开始的"])
    assert (slots.scope, slots.temperature, slots.since, slots.building_wide) == (
        "whole_home",
        14,
        "昨天",
        False,
    )
    assert slots.missing_no_heat() == []
    assert extract_slots(["邻居家也不热"]).building_wide


@pytest.mark.parametrize(
    ("text", "value"), [("十四", 14), ("二十", 20), ("二十二", 22), ("8", 8), ("十", 10)]
)
def test_chinese_numbers(text: str, value: int) -> None:
    assert chinese_number(text) == value


def test_first_no_heat_report_gets_self_check_not_a_ticket() -> None:
    act = decide(view("暖气不热乎", "no_heat"))
    assert (act.name, act.tool) == ("self_check", "search_knowledge")


def test_no_heat_after_self_check_failed_creates_a_ticket_with_symptoms() -> None:
    act = decide(view("试过了还是不热", "no_heat", history=["全屋不热 14度"], acts=["self_check"]))
    assert act.tool == "create_repair_ticket" and act.args["category"] == "no_heat"
    assert "全屋不热" in act.args["description"] and "14℃" in act.args["description"]


@pytest.mark.parametrize("text", ["暖气不热，派个师傅来看看", "邻居家也都不热", "屋里才8度"])
def test_no_heat_goes_straight_to_a_ticket_when_self_check_cannot_help(text: str) -> None:
    assert decide(view(text, "no_heat")).tool == "create_repair_ticket"


def test_a_burst_pipe_is_an_emergency_ticket_at_once() -> None:
    act = decide(view("家里暖气管爆了，水哗哗的", "leak", urgency="emergency"))
    assert act.tool == "create_repair_ticket" and act.args["urgency"] == "emergency"


def test_an_anonymous_emergency_still_gets_safety_advice() -> None:
    act = decide(view("爆管了", "leak", urgency="emergency", bound=False))
    assert act.tool is None and "关闭入户阀门" in act.reply and BIND_HINT in act.reply


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("我欠多少钱", "get_my_bills"),
        ("我要交暖气费", "create_payment_order"),
        ("在哪交费", "search_knowledge"),
        ("查一下缴费记录", "get_payment_history"),
    ],
)
def test_billing_sub_intents(text: str, tool: str) -> None:
    assert decide(view(text, "billing")).tool == tool


def test_account_specific_requests_need_binding() -> None:
    act = decide(view("我欠多少钱", "billing", bound=False))
    assert act.tool == "search_knowledge"  # tariffs from the KB, not someone's bill
    assert decide(view("师傅什么时候来", "progress", bound=False)).reply == BIND_HINT


def test_asking_about_my_homes_balance_unbound_asks_to_bind_instead_of_quoting_tariffs() -> None:
    assert decide(view("我家还欠多少钱", "billing", bound=False)).reply == BIND_HINT
    assert decide(view("暖气费多少钱一平米", "billing", bound=False)).tool == "search_knowledge"


def test_suspend_and_resume_requests_call_their_tools_and_questions_go_to_the_kb() -> None:
    assert decide(view("我要办理报停", "suspend")).tool == "apply_suspension"
    assert decide(view("我想申请恢复供暖", "suspend")).tool == "apply_resumption"
    assert decide(view("我要办理报停", "suspend", bound=False)).reply == BIND_HINT
    assert decide(view("报停有什么规定", "suspend")).tool == "search_knowledge"


def test_invoice_asks_for_a_title_then_requests() -> None:
    assert decide(view("我要开发票", "billing")).name == "invoice_ask_title"
    act = decide(
        view(
            "单位抬头：滨河市第一中学 税号91210100MA0XYZ1234",
            "other",
            history=["我要开发票"],
            acts=["invoice_ask_title"],
        )
    )
    assert act.tool == "request_invoice"
    assert act.args["title"] == "滨河市第一中学" and act.args["tax_no"] == "91210100MA0XYZ1234"


def test_progress_reads_a_ticket_number() -> None:
    act = decide(view("BX202611220003到哪了", "progress"))
    assert act.tool == "get_ticket_progress" and act.args == {"ticket_no": "BX202611220003"}


def test_greeting_and_thanks_need_no_tool() -> None:
    assert decide(view("你好", "other")).tool is None
    assert decide(view("谢谢师傅", "praise_suggestion")).name == "thank"


def test_extractive_answer_keeps_the_passage_numbers() -> None:
    text = "居民供热价格为每平方米26.00元。非居民为38.00元。缴费截止日期为12月31日。"
    answer = best_sentences("居民暖气费一平多少钱", text, limit=1)
    assert answer == "居民供热价格为每平方米26.00元。"


def test_steps_are_read_from_numbered_lines() -> None:
    assert steps_of("## 放气\n1. 关闭阀门\n2. 打开放气阀\n说明文字") == ["关闭阀门", "打开放气阀"]


def test_asking_why_the_heat_stops_searches_notices_instead_of_self_check() -> None:
    act = decide(view("我家是3号楼，明天为啥停热", "no_heat", acts=["self_check"]))
    assert act.tool == "search_knowledge" and act.args["query"] == "我家是3号楼，明天为啥停热"


def test_why_is_my_heating_cold_is_still_a_symptom_report() -> None:
    assert decide(view("暖气为啥不热", "no_heat")).name == "self_check"


def test_asking_for_a_visit_after_valve_tips_is_a_valve_ticket_even_if_it_reads_as_progress() -> None:
    act = decide(
        view("还是拧不动，派师傅来吧", "progress", history=["暖气阀门拧不动了"], acts=["valve_tips"])
    )
    assert act.tool == "create_repair_ticket" and act.args["category"] == "valve"
    # Without the tips first, the same words are a progress question about an existing ticket.
    assert decide(view("师傅什么时候来", "progress")).tool == "get_ticket_progress"


def test_traditional_characters_reach_the_same_sub_intent_as_simplified() -> None:
    simplified, traditional = decide(view("暖气费怎么缴", "billing")), decide(view("暖氣費怎麼繳", "billing"))
    assert simplified.name == traditional.name == "pay_howto"
    assert traditional.args["query"] == "暖氣費怎麼繳"  # the KB normalises; the resident's words are kept


def test_a_sentence_introducing_a_list_is_answered_with_the_whole_list() -> None:
    text = "可以在以下渠道缴费：\n1. 公众号。\n2. 支付宝。\n3. 营业厅。\n4. 银行代收。\n到账见下文。"
    answer = best_sentences("在哪缴费渠道", text)
    assert answer.startswith("可以在以下渠道缴费：1. 公众号")
    assert all(item in answer for item in ("支付宝", "营业厅", "银行代收")) and "下文" not in answer
