"""Template-generated training messages for the classifier, appended to the hand-written ones.

The hand-written lines in ``agent/classify/data/train.jsonl`` (``"source": "hand"``) carry the
variety that matters; these templates add volume around them: greetings and fillers residents
put before a request, typos and traditional characters, dialect (咋/嘎哈/贼), emoji and tone
markers that move the emotion label. They never touch ``test.jsonl``, which was written
separately and first.

    python -m evals.classify_templates   # rewrites the template lines of train.jsonl (seed 7)
"""

from __future__ import annotations

import json
import random
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "agent" / "classify" / "data"
TRAIN = DATA / "train.jsonl"
# A generated line this close to a held-out line (rapidfuzz ratio) is dropped, so templates
# cannot leak the test set's phrasings into training.
NEAR_TEST = 85

PREFIXES = [
    "",
    "",
    "",
    "你好，",
    "请问",
    "喂，",
    "那个，",
    "麻烦问下，",
    "客服，",
    "亲，",
    "您好 ",
    "打扰一下，",
]
NEUTRAL_ENDS = ["", "", "", "？", "。", "呀", "啊", "，谢谢", "🙏", "?", "，麻烦了"]
TYPOS = [
    ("暖气", "暖器"),
    ("暖气", "暖汽"),
    ("暖气", "暖氣"),
    ("缴", "交"),
    ("师傅", "师父"),
    ("维修", "维休"),
]

# (core text, category, urgency); emotion comes from the tone added around it.
CORES: dict[str, list[tuple[str, str]]] = {
    "no_heat": [
        ("{room}的暖气不热", "normal"),
        ("{room}暖气片凉的", "normal"),
        ("暖气热得不行不行的，{room}冷", "normal"),
        ("{room}才{t}度", "temp"),
        ("家里温度{t}度，暖气不给力", "temp"),
        ("暖气不热乎，{room}冷", "normal"),
        ("{place}我家暖气不热", "normal"),
        ("全屋暖气都凉，{days}了", "high"),
        ("地暖不热，{room}冷", "normal"),
        ("暖气片上边热下边凉", "normal"),
        ("暖气摸着温吞吞的", "normal"),
        ("整个单元暖气都不热", "high"),
    ],
    "leak": [
        ("{room}暖气片滴水", "high"),
        ("{room}暖气管漏水了", "high"),
        ("{room}的暖气接头渗水", "high"),
        ("{room}暖气管爆了，水往外喷", "emergency"),
        ("{room}跑水了，暖气片裂了", "emergency"),
        ("暖气漏水漏到楼下了", "emergency"),
        ("{room}地上全是水，暖气管子爆裂", "emergency"),
        ("暖气片底下湿漉漉的，一直滴", "high"),
    ],
    "valve": [
        ("{room}的暖气阀门拧不动", "normal"),
        ("入户阀门关不上", "normal"),
        ("阀门锈死了", "normal"),
        ("{room}阀门把手坏了", "normal"),
        ("暖气阀门打不开", "normal"),
        ("锁闭阀怎么开", "normal"),
        ("温控阀调不了", "normal"),
        ("阀门关不严还一直热", "normal"),
    ],
    "equipment_noise": [
        ("{room}暖气管道有响声", "normal"),
        ("{room}暖气片一直哗哗响", "normal"),
        ("暖气管子夜里咚咚响", "normal"),
        ("暖气有嗡嗡的噪音", "normal"),
        ("{room}暖气片松了", "normal"),
        ("温控器不亮了", "normal"),
        ("暖气管子咕噜咕噜的", "normal"),
        ("热量表坏了不走", "normal"),
    ],
    "billing": [
        ("暖气费怎么交", "low"),
        ("查下我家暖气费", "low"),
        ("今年采暖费多少钱一平", "low"),
        ("我要交暖气费", "low"),
        ("能开发票吗", "low"),
        ("欠费多少", "low"),
        ("滞纳金怎么算", "low"),
        ("{size}平交多少钱", "low"),
        ("交了费还显示欠费", "normal"),
        ("用微信能交采暖费吗", "low"),
        ("缴费记录查一下", "low"),
        ("多收钱了，面积不对", "normal"),
    ],
    "suspend": [
        ("我想办报停", "low"),
        ("报停需要啥手续", "low"),
        ("报停截止哪天", "low"),
        ("今年不住了要停暖", "low"),
        ("报停了要恢复供暖", "low"),
        ("新房开通暖气怎么办", "low"),
        ("报停收多少钱", "low"),
        ("空房子能报停吗", "low"),
        ("网上能办报停吗", "low"),
    ],
    "inquiry": [
        ("今年什么时候供暖", "low"),
        ("供暖几号结束", "low"),
        ("室温多少度达标", "low"),
        ("什么时候打压试水", "low"),
        ("营业厅在哪里", "low"),
        ("客服热线是多少", "low"),
        ("暖气怎么放气", "low"),
        ("能上门测温吗", "low"),
        ("供暖时间是怎么规定的", "low"),
        ("注水那天要留人吗", "low"),
    ],
    "progress": [
        ("师傅啥时候到", "normal"),
        ("我的报修进度", "normal"),
        ("工单现在什么状态", "normal"),
        ("派师傅了吗", "normal"),
        ("维修的人几点来", "normal"),
        ("报修的单子有人接吗", "normal"),
        ("查一下工单BX2026112{n}", "normal"),
        ("师傅电话给我一个", "normal"),
        ("取消我的报修", "normal"),
    ],
    "complaint": [
        ("我要投诉你们", "normal"),
        ("投诉维修师傅", "normal"),
        ("我要打12345", "normal"),
        ("你们乱收费", "normal"),
        ("客服态度太差", "normal"),
        ("修了几次都修不好", "normal"),
        ("我要去媒体曝光", "normal"),
        ("投诉营业厅工作人员", "normal"),
    ],
    "praise_suggestion": [
        ("谢谢师傅", "low"),
        ("师傅修得真好", "low"),
        ("暖气很热乎，点赞", "low"),
        ("服务不错，表扬", "low"),
        ("建议公众号加个报修进度提醒", "low"),
        ("提个建议，维修能预约时间", "low"),
        ("感谢客服耐心解答", "low"),
    ],
    "account": [
        ("房子过户怎么弄", "low"),
        ("改一下手机号", "low"),
        ("户号怎么查", "low"),
        ("户名要改", "low"),
        ("绑定户号", "low"),
        ("登记的面积不对", "low"),
        ("解绑户号", "low"),
        ("更换户主要带什么", "low"),
    ],
    "other": [
        ("在吗", "low"),
        ("你好", "low"),
        ("哈哈", "low"),
        ("讲个笑话吧", "low"),
        ("今天星期几", "low"),
        ("燃气怎么交费", "low"),
        ("物业电话多少", "low"),
        ("帮我打车", "low"),
        ("嗯好的", "low"),
        ("没事了", "low"),
    ],
}
ROOMS = ["卧室", "客厅", "厨房", "卫生间", "书房", "次卧", "主卧", "阳台", "家里", "屋里"]
PLACES = ["幸福里小区", "3号楼2单元", "阳光花园", "东城家园12栋", "我们小区", "北苑"]
DAYS = ["两天", "三天", "一个礼拜", "好几天"]

# Tones: (emotion, prefix, suffix). Only emotions that read naturally around any core.
TONES = {
    "neutral": [("", "")],
    "anxious": [("急！", ""), ("", "，怎么办啊"), ("", "，急死了"), ("", "😰"), ("", "，快点来人吧")],
    "dissatisfied": [
        ("", "，都第二回了"),
        ("", "，一直没人管"),
        ("又是", "，服了"),
        ("", "，呵呵"),
        ("", "🙄"),
        ("", "，行吧，反正也没人管"),
        ("", "，说好的呢"),
    ],
    "angry": [
        ("", "！！什么破服务"),
        ("", "，你们还管不管了！！"),
        ("", "，tmd"),
        ("", "，垃圾公司"),
        ("", "😡😡"),
    ],
    "satisfied": [("", "，谢谢啦"), ("", "，太感谢了"), ("", "，辛苦了👍")],
}
TONE_FOR = {
    "no_heat": ["neutral", "dissatisfied", "dissatisfied", "angry", "anxious"],
    "leak": ["anxious", "anxious", "neutral", "dissatisfied"],
    "valve": ["neutral", "neutral", "dissatisfied", "anxious"],
    "equipment_noise": ["neutral", "dissatisfied", "dissatisfied"],
    "billing": ["neutral", "neutral", "neutral", "dissatisfied"],
    "suspend": ["neutral", "neutral", "neutral", "dissatisfied"],
    "inquiry": ["neutral"],
    "progress": ["neutral", "dissatisfied", "angry", "anxious"],
    "complaint": ["angry", "angry", "dissatisfied"],
    "praise_suggestion": ["satisfied"],
    "account": ["neutral"],
    "other": ["neutral"],
}


def _fill(core: str, rng: random.Random) -> tuple[str, int | None]:
    t = rng.choice([8, 10, 11, 12, 13, 14, 15, 16, 17])
    text = core.format(
        room=rng.choice(ROOMS),
        place=rng.choice(PLACES),
        days=rng.choice(DAYS),
        t=t,
        size=rng.choice([56, 78, 89, 102, 120, 143]),
        n=rng.randint(10000, 99999),
    )
    return text, t if "{t}" in core else None


def _urgency(kind: str, temperature: int | None) -> str:
    if kind == "temp":
        return "high" if temperature is not None and temperature <= 12 else "normal"
    return kind


def generate(per_category: int = 60, seed: int = 7) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for category, cores in CORES.items():
        attempts = 0
        made = 0
        while made < per_category and attempts < per_category * 20:
            attempts += 1
            core, kind = rng.choice(cores)
            body, temperature = _fill(core, rng)
            emotion = rng.choice(TONE_FOR[category])
            before, after = rng.choice(TONES[emotion])
            if emotion == "neutral":
                after = rng.choice(NEUTRAL_ENDS)
            text = rng.choice(PREFIXES) + before + body + after
            if rng.random() < 0.25:
                old, new = rng.choice(TYPOS)
                text = text.replace(old, new)
            if text in seen:
                continue
            seen.add(text)
            made += 1
            rows.append(
                {
                    "text": text,
                    "category": category,
                    "emotion": emotion,
                    "urgency": _urgency(kind, temperature),
                    "source": "template",
                }
            )
    return rows


def main() -> None:
    from rapidfuzz import fuzz, process

    def read(path: Path) -> list[dict]:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    held_out = [row["text"] for row in read(DATA / "test.jsonl")]
    kept = [row for row in read(TRAIN) if row.get("source") != "template"]
    known = {row["text"] for row in kept}

    def near_test(text: str) -> bool:
        return process.extractOne(text, held_out, scorer=fuzz.ratio, score_cutoff=NEAR_TEST) is not None

    rows = kept + [row for row in generate() if row["text"] not in known and not near_test(row["text"])]
    TRAIN.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"train.jsonl: {len(kept)} hand-written + {len(rows) - len(kept)} template = {len(rows)}")


if __name__ == "__main__":
    main()
