from datetime import UTC, datetime, timedelta

from tools.quality.rules import Facts, Turn, handler_of, response_gaps, score_conversation

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def empathetic_fast() -> list[Turn]:
    return [
        Turn("resident", "暖气三天不热了，家里有老人，急死了", _at(0), "anxious"),
        Turn("agent", "非常理解您的着急，马上为您安排师傅上门。", _at(20), staff_id="s1"),
        Turn("resident", "好的，谢谢", _at(60), "satisfied"),
        Turn("agent", "不客气，师傅今天下午两点前到。", _at(75), staff_id="s1"),
    ]


def slow_rude() -> list[Turn]:
    return [
        Turn("resident", "暖气漏水了，物业说找你们", _at(0), "dissatisfied"),
        Turn("agent", "这个不归我们管，你自己看吧", _at(900), staff_id="s2"),
        Turn("resident", "你们什么态度！我要投诉", _at(960), "angry"),
        Turn("agent", "你打这个电话13912345678问问", _at(1500), staff_id="s2"),
    ]


def test_an_empathetic_fast_conversation_scores_high_and_is_not_flagged() -> None:
    card = score_conversation(empathetic_fast(), Facts(ticket_created=True))
    assert card.score >= 90 and not card.flagged and card.flags == []
    assert card.first_response_s == 20 and (card.emotion_start, card.emotion_end) == ("anxious", "satisfied")


def test_a_slow_reply_with_a_forbidden_phrase_and_an_exposed_phone_is_flagged() -> None:
    card = score_conversation(slow_rude(), Facts())
    rules = {rule.rule: rule for rule in card.rules}
    assert card.flagged and card.score < 60
    assert {
        "slow_first_response",
        "forbidden_phrase",
        "personal_data_exposed",
        "ended_angry",
        "low_score",
    } <= set(card.flags)
    assert {hit["phrase"] for hit in rules["forbidden_phrases"].evidence} == {"不归我们管", "你自己看"}
    assert rules["personal_data"].evidence == [{"message": 3, "sender": "agent", "kind": "phone"}]
    assert rules["empathy"].points == 0


def test_a_phone_typed_by_the_resident_is_not_an_exposure() -> None:
    turns = [Turn("resident", "我电话13912345678", _at(0), "neutral"), Turn("bot", "好的，已记录。", _at(1))]
    assert "personal_data_exposed" not in score_conversation(turns, Facts()).flags


def test_a_repeat_contact_costs_resolution_points() -> None:
    base = score_conversation(empathetic_fast(), Facts(ticket_created=True)).score
    repeat = score_conversation(empathetic_fast(), Facts(ticket_created=True, repeat_contact=True)).score
    assert repeat == base - 8


def test_consecutive_resident_messages_wait_for_one_reply() -> None:
    turns = [
        Turn("resident", "在吗", _at(0)),
        Turn("resident", "暖气不热", _at(10)),
        Turn("bot", "您好", _at(12)),
    ]
    assert response_gaps(turns) == [(0, 12.0)]


def test_the_handler_is_the_agent_with_most_replies_else_the_bot() -> None:
    assert handler_of(empathetic_fast()) == ("agent", "s1")
    assert handler_of([Turn("resident", "你好", _at(0)), Turn("bot", "您好", _at(1))]) == ("bot", None)
