import pytest

from tools.followups.scoring import outcome_of, parse_score, read_answer


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("5", 5),
        ("5分 王师傅很负责", 5),
        ("打4分吧", 4),
        ("五星", 5),
        ("给三颗星", 3),
        ("★★★★", 4),
        ("一般吧", 3),
        ("非常满意", 5),
        ("不满意", 2),
        ("非常不满意", 1),
        ("1", 1),
    ],
)
def test_scores_are_read_from_digits_chinese_numerals_stars_and_words(text: str, score: int) -> None:
    assert parse_score(text) == score


@pytest.mark.parametrize(
    "text",
    ["我家3号楼暖气又不热了", "13912340001", "2天了还是这样，你们到底管不管这事情啊，我都打了好多次电话"],
)
def test_building_numbers_phones_and_long_questions_are_not_scores(text: str) -> None:
    assert parse_score(text) is None


def test_a_good_score_with_resignation_is_hidden_dissatisfaction() -> None:
    answer = read_answer("行吧,给个好评,反正也没人管", emotion="neutral", worker_name="王建国")
    assert answer.score == 5 and answer.hidden_dissatisfaction and not answer.praised
    assert {"行吧", "反正", "没人管"} <= set(answer.cues)
    assert outcome_of(answer) == "escalated"


def test_a_good_score_said_angrily_is_hidden_dissatisfaction() -> None:
    answer = read_answer("5分", emotion="angry")
    assert answer.hidden_dissatisfaction and outcome_of(answer) == "escalated"


def test_praise_must_name_the_worker_by_name_or_surname_with_shifu() -> None:
    assert read_answer("5分 王师傅很负责", emotion="satisfied", worker_name="王建国").praised
    assert read_answer("谢谢王建国，修得很好", emotion="satisfied", worker_name="王建国").praised
    assert not read_answer("5分 李师傅很负责", emotion="satisfied", worker_name="王建国").praised
    assert not read_answer("5分", emotion="satisfied", worker_name="王建国").praised


@pytest.mark.parametrize(
    ("text", "emotion", "outcome"),
    [
        ("1", "neutral", "reopened"),
        ("2分，还是不热", "dissatisfied", "reopened"),
        ("3", "neutral", "visited"),
        ("5", "satisfied", "visited"),
        ("暖气又不热了", "dissatisfied", "escalated"),
        ("我想问下发票", "neutral", "recorded"),
    ],
)
def test_outcomes(text: str, emotion: str, outcome: str) -> None:
    assert outcome_of(read_answer(text, emotion=emotion)) == outcome
