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


def test_held_out_accuracy_stays_above_its_measured_floor(classifier) -> None:
    # Measured 2026-11-22 on the 63 held-out messages: category 0.98, emotion 0.78, urgency 0.84.
    # Floors sit a few points under, so a regression fails here without flaking on one message.
    test = load_examples("test.jsonl")
    results = classifier.classify_many([example["text"] for example in test])

    def accuracy(key: str) -> float:
        return sum(getattr(r, key) == e[key] for r, e in zip(results, test, strict=True)) / len(test)

    assert accuracy("category") >= 0.90
    assert accuracy("emotion") >= 0.70
    assert accuracy("urgency") >= 0.75
