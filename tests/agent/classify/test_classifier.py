import pytest

from agent.classify.classifier import load_examples
from tools.labels import CATEGORIES, EMOTIONS, URGENCIES


@pytest.mark.parametrize(
    ("text", "category", "urgency"),
    [
        ("家里暖气管爆了水淹了", "leak", "emergency"),
        ("师傅啥时候到啊都等一上午了", "progress", "normal"),
        ("暖气费多少钱一平", "billing", "low"),
        ("我要报停", "suspend", "low"),
        ("暖气不热", "no_heat", "normal"),
        ("阀门拧不动了", "valve", "normal"),
        ("房子卖了怎么过户", "account", "low"),
    ],
)
def test_obvious_messages(classifier, text: str, category: str, urgency: str) -> None:
    result = classifier.classify(text)
    assert (result.category, result.urgency) == (category, urgency)


def test_thanks_is_praise_and_satisfied(classifier) -> None:
    result = classifier.classify("谢谢师傅修好了")
    assert (result.category, result.emotion) == ("praise_suggestion", "satisfied")


def test_threats_to_complain_read_as_angry_complaints(classifier) -> None:
    result = classifier.classify("再不给修我就打12345投诉你们")
    assert (result.category, result.emotion) == ("complaint", "angry")


def test_vulnerable_residents_raise_no_heat_urgency(classifier) -> None:
    assert classifier.classify("暖气不热").urgency == "normal"
    assert classifier.classify("暖气不热", vulnerable=True).urgency in ("high", "emergency")
    assert classifier.classify("家里有婴儿，暖气不热屋里才13度").urgency == "emergency"


def test_traditional_and_full_width_input_classify_like_simplified(classifier) -> None:
    simplified = classifier.classify("暖气不热，屋里才12度")
    for variant in ("暖氣不熱，屋裡才12度", "暖气不热，屋里才１２度"):
        result = classifier.classify(variant)
        assert (result.category, result.urgency) == (simplified.category, simplified.urgency)


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂🙂", "?!?!", "a" * 5000, "\x00\x01"])
def test_odd_input_never_raises_and_stays_in_the_label_sets(classifier, text: str) -> None:
    result = classifier.classify(text)
    assert result.category in CATEGORIES and result.emotion in EMOTIONS and result.urgency in URGENCIES


def test_content_free_input_is_other_with_low_confidence(classifier) -> None:
    result = classifier.classify("🙂🙂🙂")
    assert result.category == "other" and result.confidence < 0.45


def test_same_input_same_output(classifier) -> None:
    assert classifier.classify("暖气漏水了") == classifier.classify("暖气漏水了")


def test_held_out_scores_stay_above_their_measured_floors(classifier) -> None:
    # Measured 2026-12-01 on the 366 held-out messages: category 0.929, emotion macro-F1 0.817,
    # urgency 0.932, emergency recall 1.0. Floors sit a few points under, so a regression fails
    # here without flaking on one message; a missed emergency always fails.
    from agent.classify.training import held_out_scores

    scores = held_out_scores(classifier, load_examples("test.jsonl"))
    assert scores["category_accuracy"] >= 0.90
    assert scores["emotion_macro_f1"] >= 0.77
    assert scores["urgency_accuracy"] >= 0.88
    assert scores["emergency_recall"] == 1.0


def test_held_out_messages_never_appear_in_training() -> None:
    train = {example["text"] for example in load_examples()}
    assert not [example["text"] for example in load_examples("test.jsonl") if example["text"] in train]


@pytest.mark.parametrize(
    "text",
    [
        "行吧，给个好评，反正也没人管",
        "真是感谢你们啊，暖气凉得我天天穿羽绒服",
        "呵呵，谢谢你们这么高效，等了三天了",
    ],
)
def test_sarcastic_praise_reads_as_dissatisfied_not_satisfied(classifier, text: str) -> None:
    assert classifier.classify(text).emotion in ("dissatisfied", "angry")


@pytest.mark.parametrize(
    "text",
    [
        "暖气爆了一天了没人来，家里全是水，我要投诉你们",
        "卫生间暖气管炸了，水都流到楼道了",
        "楼上漏水，天花板一直在滴水",
        "water everywhere, the heating pipe burst",
        "我妈八十多了一个人住，暖气冰凉",
    ],
)
def test_emergencies_are_emergencies_whatever_the_category(classifier, text: str) -> None:
    assert classifier.classify(text).urgency == "emergency"


def test_confidence_is_high_on_plain_requests_and_low_on_unrelated_chatter(classifier) -> None:
    assert classifier.classify("我要交暖气费").confidence > 0.6
    assert (
        classifier.classify("周末去哪玩比较好呢").confidence < classifier.classify("我要交暖气费").confidence
    )


def test_dialect_pinyin_and_typos_still_classify(classifier) -> None:
    assert classifier.classify("屋里贼冷暖气嘎嘎凉").category == "no_heat"
    assert classifier.classify("bao ting zenme ban a").category == "suspend"
    assert classifier.classify("暖器漏水了").category == "leak"
