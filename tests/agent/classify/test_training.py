"""Retraining from staff corrections: the promotion gate and the active model's round trip."""

from agent.classify import make_classifier
from agent.classify.classifier import ACTIVE_MODEL, load_examples
from agent.classify.training import held_out_scores, merge_corrections, retrain


def test_a_correction_replaces_the_training_line_with_the_same_text() -> None:
    train = [{"text": "暖气不热", "category": "no_heat", "emotion": "neutral", "urgency": "normal"}]
    fix = {"text": "暖气不热 ", "category": "complaint", "emotion": "angry", "urgency": "normal"}
    assert merge_corrections(train, [fix]) == [fix]


def test_a_candidate_that_is_not_worse_becomes_the_active_model_and_loads_from_the_data_dir(
    tmp_path, shared_classifier
) -> None:
    corrections = [
        {"text": "暖气片一直嗞嗞冒热气", "category": "leak", "emotion": "anxious", "urgency": "high"},
        {
            "text": "行吧，这就是你们的服务",
            "category": "complaint",
            "emotion": "dissatisfied",
            "urgency": "normal",
        },
    ]
    report = retrain(tmp_path, corrections, current=shared_classifier)
    assert report.corrections == 2 and report.promoted and (tmp_path / ACTIVE_MODEL).exists()
    active = make_classifier(tmp_path)
    assert active.model.n_examples == report.examples
    assert held_out_scores(active, load_examples("test.jsonl")) == report.after


def test_a_candidate_worse_on_the_held_out_split_is_not_promoted(tmp_path, shared_classifier) -> None:
    # Poison: every emergency in training relabelled as a billing question.
    poison = [
        {**example, "category": "billing", "emotion": "neutral", "urgency": "low"}
        for example in load_examples()
        if example["urgency"] == "emergency" or example["category"] in ("leak", "no_heat")
    ]
    report = retrain(tmp_path, poison, current=shared_classifier)
    assert not report.promoted and "category_accuracy" in report.worse
    assert not (tmp_path / ACTIVE_MODEL).exists()
