"""The demo company's residents, bills and workers, generated deterministically as CSV-like rows.

Rows have exactly the columns of ``warmline import`` files, and the seed loads them through the
same importer a company uses, so the demo also exercises the import path. ``DEMO_ACCOUNTS`` are
fixed accounts that the README, demos and tests rely on.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from tools.billing import rules
from tools.demo.company import SEASONS, TARIFFS, TERMS
from tools.validators import id_card_check_digit

SEED = 2026
COMMUNITIES = (  # name, district, buildings, centre (lat, lon)
    ("锦绣花园", "城东区", 8, (41.8030, 123.4520)),
    ("阳光小区", "城东区", 6, (41.7985, 123.4630)),
    ("幸福里", "城西区", 6, (41.8010, 123.3480)),
    ("和平家园", "城西区", 5, (41.7930, 123.3600)),
    ("滨河湾", "滨河新区", 6, (41.7520, 123.4210)),
    ("翠湖苑", "滨河新区", 4, (41.7440, 123.4350)),
)
SURNAMES = (
    "王李张刘陈杨黄赵周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝龚邵万钱武戴孔汤"
)
GIVEN = (
    "秀英",
    "桂兰",
    "建华",
    "丽",
    "强",
    "海",
    "洋",
    "晨",
    "淑珍",
    "玉兰",
    "凤英",
    "建国",
    "建军",
    "志强",
    "国华",
    "明",
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "磊",
    "军",
    "勇",
    "艳",
    "杰",
    "涛",
    "超",
    "秀兰",
    "桂芝",
    "玉梅",
    "振华",
    "德明",
    "宝山",
    "春梅",
    "红霞",
    "晓东",
    "晓燕",
    "海燕",
    "文博",
    "子涵",
    "浩然",
    "雨萱",
    "欣怡",
    "梓轩",
    "俊杰",
    "佳怡",
    "思远",
    "立新",
    "长青",
    "福生",
    "淑华",
    "丽娟",
    "丽华",
    "玉珍",
    "秀珍",
    "金凤",
    "国庆",
    "卫东",
    "向阳",
    "爱军",
    "爱华",
    "春生",
    "永刚",
    "永强",
    "海波",
    "海涛",
    "宏伟",
    "志刚",
)
TAG_RATES = (("独居老人", 0.06), ("婴幼儿家庭", 0.05), ("行动不便", 0.03), ("频繁投诉", 0.02))

# Fixed accounts for demos and tests: (account_no, name, phone, building, unit, room, area, kind, tags, story)
DEMO_ACCOUNTS = {
    "2026010001": (
        "张秀英",
        "13912340001",
        "3号楼",
        "2",
        "501",
        "89.50",
        "居民",
        "",
        "current season unpaid",
    ),
    "2026010002": (
        "李桂兰",
        "13912340002",
        "3号楼",
        "1",
        "302",
        "72.30",
        "居民",
        "独居老人",
        "elderly, lives alone",
    ),
    "2026010003": ("王建华", "13912340003", "5号楼", "2", "1101", "118.60", "居民", "", "paid early, 3% off"),
    "2026010004": ("赵丽", "13912340004", "2号楼", "3", "602", "95.00", "居民", "", "partial payment"),
    "2026010005": ("孙强", "13912340005", "6号楼", "1", "401", "88.00", "居民", "", "报停 this season"),
    "2026010006": ("周海", "13912340006", "1号楼", "1", "101", "156.00", "非居民", "", "shop, unpaid"),
    "2026010007": (
        "刘洋",
        "13912340007",
        "4号楼",
        "2",
        "701",
        "101.20",
        "居民",
        "频繁投诉",
        "arrears in both seasons",
    ),
    "2026010008": ("陈晨", "13912340008", "3号楼", "2", "801", "76.80", "居民", "婴幼儿家庭", "baby at home"),
}
_FIXED_BILLS = {  # account_no: (previous season state, current season state)
    "2026010001": ("paid", "unpaid"),
    "2026010002": ("paid", "unpaid"),
    "2026010003": ("paid", "early"),
    "2026010004": ("paid", "partial"),
    "2026010005": ("paid", "unpaid"),
    "2026010006": ("paid", "unpaid"),
    "2026010007": ("unpaid", "unpaid"),
    "2026010008": ("paid", "paid"),
}
GENERATED = 192


def _building_coords(rng: random.Random, centre: tuple[float, float], index: int) -> tuple[float, float]:
    return round(centre[0] + (index % 3) * 0.0012 + rng.uniform(-0.0003, 0.0003), 6), round(
        centre[1] + (index // 3) * 0.0015 + rng.uniform(-0.0003, 0.0003), 6
    )


def _id_number(rng: random.Random) -> str:
    birth = date(1940, 1, 1) + timedelta(days=rng.randint(0, 365 * 62))
    first17 = f"210102{birth:%Y%m%d}{rng.randint(0, 999):03d}"
    return first17 + id_card_check_digit(first17)


def _coords_by_building() -> dict[tuple[str, str], tuple[float, float]]:
    rng = random.Random(SEED + 1)
    coords = {}
    for name, _district, count, centre in COMMUNITIES:
        for index in range(count):
            coords[(name, f"{index + 1}号楼")] = _building_coords(rng, centre, index)
    return coords


def resident_rows() -> list[dict[str, str]]:
    rng = random.Random(SEED)
    coords = _coords_by_building()
    districts = {name: district for name, district, _, _ in COMMUNITIES}
    used_places: set[tuple[str, str, str, str]] = set()
    used_phones: set[str] = set()
    rows = []

    def add(account_no, name, phone, community, building, unit, room, area, kind, tags, status="正常"):
        lat, lon = coords[(community, building)]
        used_places.add((community, building, unit, room))
        used_phones.add(phone)
        rows.append(
            {
                "account_no": account_no,
                "name": name,
                "phone": phone,
                "id_card_no": _id_number(rng) if rng.random() < 0.6 else "",
                "community": community,
                "district": districts[community],
                "building": building,
                "unit": unit,
                "room": room,
                "heated_area": area,
                "kind": kind,
                "status": status,
                "tags": tags,
                "lat": str(lat),
                "lon": str(lon),
            }
        )

    for account_no, (name, phone, building, unit, room, area, kind, tags, _story) in DEMO_ACCOUNTS.items():
        status = "报停" if account_no == "2026010005" else "正常"
        add(account_no, name, phone, "锦绣花园", building, unit, room, area, kind, tags, status)

    serials = {name: 9 if name == "锦绣花园" else 1 for name, *_ in COMMUNITIES}
    for _ in range(GENERATED):
        index = rng.randrange(len(COMMUNITIES))
        community, _district, buildings, _centre = COMMUNITIES[index]
        shop = community in ("锦绣花园", "滨河湾") and rng.random() < 0.06
        while True:
            building = f"{rng.randint(1, buildings)}号楼"
            unit = "1" if shop else str(rng.randint(1, 3))
            floor = 1 if shop else rng.randint(1, 18)
            room = f"{floor}0{rng.randint(1, 2)}"
            if (community, building, unit, room) not in used_places:
                break
        while True:
            phone = (
                rng.choice(("139", "138", "137", "158", "159", "186", "188", "135"))
                + f"{rng.randint(0, 99999999):08d}"
            )
            if phone not in used_phones:
                break
        area = Decimal(rng.randint(6000 if shop else 4500, 30000 if shop else 16000)) / 100
        tags = [tag for tag, rate in TAG_RATES if rng.random() < rate]
        account_no = f"2026{index + 1:02d}{serials[community]:04d}"
        serials[community] += 1
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        status = "报停" if not shop and rng.random() < 0.08 else "正常"
        add(
            account_no,
            name,
            phone,
            community,
            building,
            unit,
            room,
            f"{area:.2f}",
            "非居民" if shop else "居民",
            "|".join(tags),
            status,
        )
    return rows


def _due(area: Decimal, kind: str, *, suspended: bool, early: bool, season: dict) -> Decimal:
    terms = rules.SeasonTerms(
        code=season["code"],
        discount_deadline=season["discount_deadline"],
        pay_deadline=season["pay_deadline"],
        **TERMS,
    )
    base = rules.base_fee(area, TARIFFS[kind], suspended=suspended, terms=terms)
    if early:
        return base - rules.early_discount(
            base, paid_on=season["discount_deadline"], terms=terms, suspended=suspended
        )
    return base


def bill_rows() -> list[dict[str, str]]:
    rng = random.Random(SEED + 2)
    previous, current = SEASONS
    rows = []
    for resident in resident_rows():
        account_no = resident["account_no"]
        area = Decimal(resident["heated_area"])
        kind = "residential" if resident["kind"] == "居民" else "non_residential"
        suspended_now = resident["status"] == "报停"
        fixed = _FIXED_BILLS.get(account_no)
        for season, state in (
            (previous, fixed[0] if fixed else None),
            (current, fixed[1] if fixed else None),
        ):
            suspended = suspended_now and season is current
            if state is None:
                roll = rng.random()
                if season is previous:
                    state = "early" if roll < 0.35 else "paid" if roll < 0.93 else "unpaid"
                else:
                    state = (
                        "early"
                        if roll < 0.15
                        else "paid"
                        if roll < 0.43
                        else "partial"
                        if roll < 0.48
                        else "unpaid"
                    )
            early = state == "early" and not suspended
            due = _due(area, kind, suspended=suspended, early=early, season=season)
            if state in ("paid", "early"):
                paid = due
                if early:
                    paid_on = season["discount_deadline"] - timedelta(days=rng.randint(0, 25))
                elif season is previous:
                    paid_on = season["starts_on"] + timedelta(days=rng.randint(-10, 60))
                else:
                    paid_on = date(2026, 11, 1) + timedelta(days=rng.randint(0, 20))
            elif state == "partial":
                paid = (due * Decimal(rng.choice(("0.3", "0.5", "0.6")))).quantize(Decimal("0.01"))
                paid_on = date(2026, 11, 1) + timedelta(days=rng.randint(0, 20))
            else:
                paid, paid_on = Decimal("0.00"), None
            rows.append(
                {
                    "account_no": account_no,
                    "season": season["code"],
                    "suspended": "是" if suspended else "否",
                    "amount_paid": f"{paid:.2f}",
                    "paid_on": paid_on.isoformat() if paid_on else "",
                }
            )
    return rows


WORKERS = (  # code, name, district, skills
    ("W001", "王建国", "城东区", "no_heat|leak|valve"),
    ("W002", "李卫东", "城东区", "no_heat|equipment_noise|valve"),
    ("W003", "张永刚", "城东区", "leak|no_heat|suspend"),
    ("W004", "刘海波", "城东区", "no_heat|leak|equipment_noise"),
    ("W005", "陈志刚", "城东区", "valve|suspend|equipment_noise"),
    ("W006", "杨宏伟", "城东区", "leak|valve"),
    ("W007", "赵长青", "城西区", "no_heat|leak|valve"),
    ("W008", "黄福生", "城西区", "no_heat|equipment_noise"),
    ("W009", "周春生", "城西区", "leak|no_heat|suspend"),
    ("W010", "吴立新", "城西区", "leak|valve|equipment_noise"),
    ("W011", "徐国庆", "城西区", "no_heat|suspend"),
    ("W012", "孙振华", "滨河新区", "no_heat|leak|valve"),
    ("W013", "马德明", "滨河新区", "no_heat|leak|equipment_noise"),
    ("W014", "朱宝山", "滨河新区", "leak|valve|suspend"),
    ("W015", "胡向阳", "滨河新区", "no_heat|equipment_noise"),
    ("W016", "郭永强", "滨河新区", "leak|no_heat|valve"),
)


def worker_rows() -> list[dict[str, str]]:
    rng = random.Random(SEED + 3)
    centres = {"城东区": (41.800, 123.455), "城西区": (41.798, 123.352), "滨河新区": (41.748, 123.428)}
    rows = []
    for number, (code, name, district, skills) in enumerate(WORKERS):
        lat, lon = centres[district]
        evening = code in ("W004", "W013")
        rows.append(
            {
                "code": code,
                "name": name,
                "phone": f"1560000{number + 1:04d}",
                "skills": skills,
                "district": district,
                "home_lat": f"{lat + rng.uniform(-0.01, 0.01):.6f}",
                "home_lon": f"{lon + rng.uniform(-0.01, 0.01):.6f}",
                "shift_start": "12:00" if evening else "08:00",
                "shift_end": "23:59" if evening else "18:00",
                "active": "是",
            }
        )
    return rows
