"""Reading a resident's survey answer: a 1-5 score, hidden dissatisfaction, praise for the worker.

Pure functions over the text and the emotion label the classifier gave the message, so the rules
are testable without a database. Residents answer loosely — "5", "五星", "★★★★", "打4分",
"挺满意的", "一般吧" — and sometimes say a high score while meaning the opposite ("行吧，给个好评，
反正也没人管"): that is hidden dissatisfaction, and it is worth a human call more than a low score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tools.text import normalize

_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_DIGIT_SCORE = re.compile(r"(?<![\d.])([1-5])\s*(?:分|星|颗星|颗)")
# A message that opens with the score ("5", "4 挺好"), but not "3号楼..." or "2天了".
_LEADING_DIGIT = re.compile(r"^\s*([1-5])(?![\d.号楼栋幢单元室层天度点月日块元个次遍小周年])")
_CN_SCORE = re.compile(r"(?:打|给|评)?([一二两三四五])\s*(?:分|星|颗星|颗)")
_BARE_CN = re.compile(r"^\s*([一二两三四五])\s*[。.!！~]*\s*$")
_STARS = re.compile(r"[★⭐]")
# Checked in order: the first pattern that matches decides the word score.
_WORD_SCORES: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"(非常|很|特别|太)不满意|差评|太差|很差|极差|垃圾|糟糕"), 1),
    (re.compile(r"不(太|怎么)?满意|不好|不行|没修好|没解决|还是不热"), 2),
    (re.compile(r"一般|还行|凑合|马马虎虎|过得去"), 3),
    (re.compile(r"(非常|很|特别|十分|超级?)满意|好评|五星|满分|非常好|太好了"), 5),
    (re.compile(r"满意|挺好|不错|很好|谢谢|感谢|辛苦"), 4),
)
# Resignation and sarcasm that turn a high score into a complaint.
SARCASM = re.compile(
    r"行吧|好吧好吧|反正|没人管|算了|呵呵|随便|懒得|无所谓|还能怎样|又能怎样|就这样吧|爱咋咋|"
    r"也就这样|应付|敷衍|走个过场|形式主义|有什么用|有啥用|给个好评吧"
)
PRAISE = re.compile(r"负责|认真|专业|热情|耐心|辛苦|感谢|谢谢|点赞|表扬|好|棒|及时|麻利|细心|靠谱|利索|给力")
WORD_SCORE_MAX_CHARS = 30
NEGATIVE_EMOTIONS = frozenset({"dissatisfied", "angry"})


@dataclass(frozen=True)
class SurveyAnswer:
    score: int | None
    sentiment: str
    hidden_dissatisfaction: bool
    praised: bool
    cues: list[str] = field(default_factory=list)

    @property
    def is_answer(self) -> bool:
        """Whether the message reads as a reply to the survey rather than a new question."""
        return self.score is not None or self.praised or self.hidden_dissatisfaction


def parse_score(text: str) -> int | None:
    text = normalize(text)
    stars = len(_STARS.findall(text))
    if 1 <= stars <= 5:
        return stars
    for pattern in (_DIGIT_SCORE, _LEADING_DIGIT, _CN_SCORE, _BARE_CN):
        match = pattern.search(text)
        if match:
            value = match.group(1)
            return int(value) if value.isdigit() else _CN_DIGITS[value]
    if len(text) > WORD_SCORE_MAX_CHARS:
        return None  # a long message is a new question, not "满意"
    for pattern, score in _WORD_SCORES:
        if pattern.search(text):
            return score
    return None


def names_worker(text: str, worker_name: str | None) -> bool:
    """The full name (王建国) or the surname with 师傅 (王师傅)."""
    if not worker_name:
        return False
    return worker_name in text or f"{worker_name[0]}师傅" in text


def read_answer(text: str, *, emotion: str, worker_name: str | None = None) -> SurveyAnswer:
    score = parse_score(text)
    cues = sorted(set(SARCASM.findall(normalize(text))))
    positive_claim = score is not None and score >= 4
    hidden = positive_claim and (bool(cues) or emotion in NEGATIVE_EMOTIONS)
    praised = (
        not hidden
        and (score is None or score >= 3)
        and emotion not in NEGATIVE_EMOTIONS
        and names_worker(text, worker_name)
        and bool(PRAISE.search(text))
    )
    if hidden and not cues:
        cues = [f"情绪:{emotion}"]
    return SurveyAnswer(
        score=score, sentiment=emotion, hidden_dissatisfaction=hidden, praised=praised, cues=cues
    )


def outcome_of(answer: SurveyAnswer) -> str:
    """What the answer does to the ticket.

    ``reopened``: a score of 1-2 — the repair did not work for them, send someone again.
    ``escalated``: hidden dissatisfaction, or an unscored negative reply — a human calls back.
    ``visited``: a score of 3-5 without hidden dissatisfaction — the follow-up is done (已回访).
    ``recorded``: nothing to act on (a neutral remark without a score).
    """
    if answer.score is not None and answer.score <= 2:
        return "reopened"
    if answer.hidden_dissatisfaction or (answer.score is None and answer.sentiment in NEGATIVE_EMOTIONS):
        return "escalated"
    if answer.score is not None:
        return "visited"
    return "recorded"


THANKS = {
    "visited": "感谢您的评价！我们会继续做好供热服务，有问题随时找我。",
    "reopened": "非常抱歉这次维修没有让您满意。工单已重新受理，客服会尽快联系您并安排师傅再次上门。",
    "escalated": "抱歉给您添麻烦了，您的反馈已转给客服主管，稍后会有专人联系您了解情况。",
    "recorded": "收到您的反馈，谢谢！",
}
