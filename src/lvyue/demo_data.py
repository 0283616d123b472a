"""Realistic demo data: a clothing + fresh food + furniture merchant selling on four platforms.

Pure generation (no database): the demo and the benchmarks write these rows through the same
commands and services a merchant would use.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from lvyue.core.clock import SHANGHAI

WAREHOUSES = [
    # code, name, province, city, district, priority
    ("HZ", "杭州仓", "浙江省", "杭州市", "余杭区", 10),
    ("GZ", "广州仓", "广东省", "广州市", "白云区", 20),
    ("BJ", "北京仓", "北京市", "北京市", "大兴区", 30),
]

SHOPS = [
    ("TB01", "taobao", "履约服饰旗舰店"),
    ("JD01", "jd", "履约京东自营店"),
    ("DY01", "douyin", "履约抖音直播间"),
    ("PDD01", "pinduoduo", "履约拼多多店"),
]

SIZES = ["S", "M", "L", "XL", "XXL"]


@dataclass(frozen=True)
class DemoSku:
    sku: str
    name: str
    spec: str
    category: str
    price: Decimal
    cost: Decimal
    weight_g: int
    tags: str = ""
    components: str = ""
    barcode: str = ""

    def csv_row(self) -> dict[str, str | None]:
        return {
            "sku": self.sku,
            "name": self.name,
            "spec": self.spec,
            "barcode": self.barcode,
            "category": self.category,
            "price": str(self.price),
            "cost": str(self.cost),
            "weight_g": str(self.weight_g),
            "tags": self.tags,
            "components": self.components,
        }


def _ean13(n: int) -> str:
    body = f"690{n:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def catalog() -> list[DemoSku]:
    skus: list[DemoSku] = []

    def add(
        code: str, name: str, spec: str, cat: str, price: str, cost: str, w: int, tags: str = ""
    ) -> None:
        skus.append(
            DemoSku(
                code,
                name,
                spec,
                cat,
                Decimal(price),
                Decimal(cost),
                w,
                tags,
                barcode=_ean13(len(skus) + 1),
            )
        )

    colours = {"WHITE": "白色", "BLACK": "黑色", "GREY": "灰色", "BLUE": "蓝色", "PINK": "粉色"}
    for ck, cn in colours.items():
        for size in SIZES:
            add(
                f"TEE-{size}-{ck}",
                "纯棉圆领T恤",
                f"颜色:{cn};尺码:{size}",
                "服装/T恤",
                "59.00",
                "18.00",
                220,
            )
            add(
                f"HOOD-{size}-{ck}",
                "加绒连帽卫衣",
                f"颜色:{cn};尺码:{size}",
                "服装/卫衣",
                "169.00",
                "55.00",
                650,
            )
            add(
                f"DOWN-{size}-{ck}",
                "轻薄羽绒服",
                f"颜色:{cn};尺码:{size}",
                "服装/羽绒服",
                "399.00",
                "150.00",
                800,
            )
    for ck, cn in {"BLUE": "浅蓝", "BLACK": "黑色", "GREY": "烟灰"}.items():
        for waist in range(28, 37):
            add(
                f"JEANS-{waist}-{ck}",
                "直筒牛仔裤",
                f"颜色:{cn};腰围:{waist}",
                "服装/牛仔裤",
                "199.00",
                "68.00",
                600,
            )
    for ck, cn in {"RED": "红色", "NAVY": "藏青", "FLORAL": "碎花"}.items():
        for size in SIZES[:4]:
            add(
                f"DRESS-{size}-{ck}",
                "法式连衣裙",
                f"颜色:{cn};尺码:{size}",
                "服装/连衣裙",
                "259.00",
                "80.00",
                350,
            )
    for ck, cn in {"WHITE": "白色", "BLACK": "黑色", "GREY": "灰色"}.items():
        for shoe in range(36, 45):
            add(
                f"SHOE-{shoe}-{ck}",
                "缓震跑步鞋",
                f"颜色:{cn};尺码:{shoe}",
                "鞋靴/运动鞋",
                "329.00",
                "120.00",
                900,
            )
    for ck, cn in {"WHITE": "白色", "BLACK": "黑色", "MIX": "混色"}.items():
        add(f"SOCK-{ck}", "棉袜", f"颜色:{cn}", "服装/袜子", "9.90", "2.50", 50)
    fresh = [
        (
            "CRAB-4L-8",
            "阳澄湖大闸蟹",
            "规格:公4两母3两;数量:8只",
            "生鲜/水产",
            "398.00",
            "210.00",
            2500,
        ),
        (
            "CRAB-5L-8",
            "阳澄湖大闸蟹",
            "规格:公5两母4两;数量:8只",
            "生鲜/水产",
            "598.00",
            "330.00",
            3000,
        ),
        (
            "CRAB-4L-10",
            "阳澄湖大闸蟹",
            "规格:公4两母3两;数量:10只",
            "生鲜/水产",
            "468.00",
            "250.00",
            3000,
        ),
        ("CHERRY-JJ-1KG", "智利车厘子", "果径:JJ级;重量:1kg", "生鲜/水果", "129.00", "70.00", 1300),
        (
            "CHERRY-JJJ-1KG",
            "智利车厘子",
            "果径:JJJ级;重量:1kg",
            "生鲜/水果",
            "169.00",
            "95.00",
            1300,
        ),
        (
            "CHERRY-JJ-2KG",
            "智利车厘子",
            "果径:JJ级;重量:2kg",
            "生鲜/水果",
            "239.00",
            "135.00",
            2400,
        ),
        ("SALMON-500G", "挪威三文鱼刺身", "重量:500g", "生鲜/水产", "139.00", "80.00", 800),
        ("SALMON-1KG", "挪威三文鱼刺身", "重量:1kg", "生鲜/水产", "259.00", "150.00", 1400),
        (
            "STEAK-RIBEYE-5",
            "澳洲眼肉牛排",
            "规格:眼肉;数量:5片",
            "生鲜/肉类",
            "199.00",
            "110.00",
            1200,
        ),
        (
            "STEAK-SIRLOIN-5",
            "澳洲西冷牛排",
            "规格:西冷;数量:5片",
            "生鲜/肉类",
            "179.00",
            "95.00",
            1200,
        ),
        ("STRAWBERRY-1KG", "丹东红颜草莓", "重量:1kg", "生鲜/水果", "89.00", "45.00", 1200),
        ("STRAWBERRY-2KG", "丹东红颜草莓", "重量:2kg", "生鲜/水果", "159.00", "85.00", 2300),
        ("DURIAN-MSW", "猫山王榴莲", "规格:整果2kg", "生鲜/水果", "499.00", "320.00", 2200),
        ("SHRIMP-1KG", "厄瓜多尔白虾", "规格:30/40;重量:1kg", "生鲜/水产", "99.00", "55.00", 1100),
        ("ABALONE-10", "鲜活鲍鱼", "数量:10只", "生鲜/水产", "159.00", "90.00", 900),
        ("MILK-FRESH-12", "鲜牛奶", "规格:250ml×12", "生鲜/乳品", "69.00", "38.00", 3200),
        ("EGG-30", "谷物鸡蛋", "数量:30枚", "生鲜/蛋类", "45.00", "24.00", 1800),
        ("MANGO-5KG", "海南贵妃芒", "重量:5kg", "生鲜/水果", "79.00", "40.00", 5200),
        ("LYCHEE-2KG", "妃子笑荔枝", "重量:2kg", "生鲜/水果", "119.00", "65.00", 2200),
        ("OYSTER-20", "乳山生蚝", "数量:20只", "生鲜/水产", "109.00", "60.00", 3500),
    ]
    for code, name, spec, cat, price, cost, w in fresh:
        add(code, name, spec, cat, price, cost, w, "fresh")
    furniture = [
        (
            "SOFA-3S-GREY",
            "北欧布艺沙发",
            "颜色:灰色;规格:三人位",
            "家具/沙发",
            "2999.00",
            "1500.00",
            65000,
        ),
        (
            "SOFA-3S-BEIGE",
            "北欧布艺沙发",
            "颜色:米白;规格:三人位",
            "家具/沙发",
            "2999.00",
            "1500.00",
            65000,
        ),
        (
            "SOFA-L-GREY",
            "北欧布艺沙发",
            "颜色:灰色;规格:L型贵妃位",
            "家具/沙发",
            "4599.00",
            "2300.00",
            90000,
        ),
        (
            "SOFA-L-BEIGE",
            "北欧布艺沙发",
            "颜色:米白;规格:L型贵妃位",
            "家具/沙发",
            "4599.00",
            "2300.00",
            90000,
        ),
        (
            "TABLE-1.4-OAK",
            "实木餐桌",
            "材质:橡木;长度:1.4m",
            "家具/餐桌",
            "1899.00",
            "900.00",
            40000,
        ),
        (
            "TABLE-1.6-OAK",
            "实木餐桌",
            "材质:橡木;长度:1.6m",
            "家具/餐桌",
            "2299.00",
            "1100.00",
            48000,
        ),
        (
            "TABLE-1.4-WAL",
            "实木餐桌",
            "材质:胡桃木;长度:1.4m",
            "家具/餐桌",
            "2599.00",
            "1300.00",
            42000,
        ),
        ("BED-1.5", "实木双人床", "规格:1.5m×2m", "家具/床", "2699.00", "1350.00", 70000),
        ("BED-1.8", "实木双人床", "规格:1.8m×2m", "家具/床", "3199.00", "1600.00", 80000),
        ("MATTRESS-1.5", "独立弹簧床垫", "规格:1.5m×2m", "家具/床垫", "1599.00", "700.00", 30000),
        ("MATTRESS-1.8", "独立弹簧床垫", "规格:1.8m×2m", "家具/床垫", "1899.00", "850.00", 35000),
        ("SHELF-5-WHITE", "五层书架", "颜色:白色", "家具/书柜", "399.00", "160.00", 25000),
        ("SHELF-5-OAK", "五层书架", "颜色:原木", "家具/书柜", "429.00", "175.00", 25000),
        ("CHAIR-ERGO-BLACK", "人体工学椅", "颜色:黑色", "家具/椅子", "899.00", "420.00", 18000),
        ("CHAIR-ERGO-GREY", "人体工学椅", "颜色:灰色", "家具/椅子", "899.00", "420.00", 18000),
        ("WARDROBE-2D", "推拉门衣柜", "规格:两门1.2m", "家具/衣柜", "1999.00", "950.00", 85000),
        ("WARDROBE-3D", "推拉门衣柜", "规格:三门1.8m", "家具/衣柜", "2799.00", "1350.00", 120000),
    ]
    for code, name, spec, cat, price, cost, w in furniture:
        add(code, name, spec, cat, price, cost, w, "bulky")
    for code, name, spec, price, cost, w in [
        ("LAMP-DESK-WHITE", "护眼台灯", "颜色:白色", "199.00", "80.00", 1500),
        ("LAMP-FLOOR-BLACK", "落地灯", "颜色:黑色", "359.00", "150.00", 4500),
        ("VASE-CERAMIC-S", "陶瓷花瓶", "尺寸:小号", "89.00", "30.00", 900),
        ("VASE-CERAMIC-L", "陶瓷花瓶", "尺寸:大号", "149.00", "50.00", 1800),
        ("MIRROR-FULL", "全身镜", "尺寸:160×50cm", "299.00", "120.00", 9000),
    ]:
        add(code, name, spec, "家居/装饰", price, cost, w, "fragile")
    bundles = [
        DemoSku(
            "TEE-3PACK-M",
            "T恤三件装",
            "尺码:M;颜色:黑白灰",
            "服装/T恤",
            Decimal("149.00"),
            Decimal("54.00"),
            660,
            components="TEE-M-WHITE*1;TEE-M-BLACK*1;TEE-M-GREY*1",
        ),
        DemoSku(
            "TEE-3PACK-L",
            "T恤三件装",
            "尺码:L;颜色:黑白灰",
            "服装/T恤",
            Decimal("149.00"),
            Decimal("54.00"),
            660,
            components="TEE-L-WHITE*1;TEE-L-BLACK*1;TEE-L-GREY*1",
        ),
        DemoSku(
            "SOCK-10PACK",
            "棉袜十双装",
            "颜色:混色",
            "服装/袜子",
            Decimal("69.00"),
            Decimal("25.00"),
            500,
            components="SOCK-MIX*10",
        ),
        DemoSku(
            "GIFT-SEAFOOD",
            "海鲜礼盒",
            "规格:蟹+虾+鲍",
            "生鲜/礼盒",
            Decimal("599.00"),
            Decimal("355.00"),
            5000,
            tags="fresh",
            components="CRAB-4L-8*1;SHRIMP-1KG*1;ABALONE-10*1",
        ),
        DemoSku(
            "SET-STUDY",
            "书房套装",
            "规格:书架+椅子+台灯",
            "家具/套装",
            Decimal("1399.00"),
            Decimal("660.00"),
            44500,
            tags="bulky",
            components="SHELF-5-WHITE*1;CHAIR-ERGO-BLACK*1;LAMP-DESK-WHITE*1",
        ),
    ]
    return skus + bundles


# Real places across the country (street-level detail invented, regions real).
ADDRESSES = [
    ("浙江省", "杭州市", "西湖区", "文三路90号东部软件园3号楼"),
    ("浙江省", "杭州市", "余杭区", "文一西路969号"),
    ("浙江省", "宁波市", "鄞州区", "天童南路588号"),
    ("浙江省", "金华市", "义乌市", "稠州北路688号"),
    ("上海市", "上海市", "浦东新区", "世纪大道100号"),
    ("上海市", "上海市", "静安区", "南京西路1266号"),
    ("江苏省", "南京市", "鼓楼区", "中山北路30号"),
    ("江苏省", "苏州市", "吴中区", "星湖街328号"),
    ("江苏省", "无锡市", "梁溪区", "人民中路139号"),
    ("安徽省", "合肥市", "蜀山区", "长江西路130号"),
    ("广东省", "深圳市", "南山区", "深南大道10000号"),
    ("广东省", "广州市", "天河区", "天河路385号"),
    ("广东省", "东莞市", None, "东城街道东纵大道2号"),
    ("广东省", "佛山市", "南海区", "桂城街道南海大道北81号"),
    ("福建省", "厦门市", "思明区", "鹭江道8号"),
    ("广西壮族自治区", "南宁市", "青秀区", "民族大道136号"),
    ("海南省", "海口市", "龙华区", "滨海大道105号"),
    ("北京市", "北京市", "朝阳区", "建国路88号SOHO现代城"),
    ("北京市", "北京市", "海淀区", "中关村大街27号"),
    ("天津市", "天津市", "和平区", "南京路189号"),
    ("河北省", "石家庄市", "长安区", "中山东路326号"),
    ("山东省", "青岛市", "市南区", "香港中路76号"),
    ("山东省", "济南市", "历下区", "泉城路180号"),
    ("辽宁省", "沈阳市", "和平区", "太原北街2号"),
    ("吉林省", "长春市", "朝阳区", "人民大街5688号"),
    ("黑龙江省", "哈尔滨市", "南岗区", "西大直街92号"),
    ("内蒙古自治区", "呼和浩特市", "新城区", "新华大街63号"),
    ("山西省", "太原市", "小店区", "长风街115号"),
    ("河南省", "郑州市", "金水区", "花园路39号"),
    ("湖北省", "武汉市", "洪山区", "珞喻路1037号"),
    ("湖南省", "长沙市", "岳麓区", "麓山南路2号"),
    ("江西省", "南昌市", "红谷滩区", "赣江中大道1218号"),
    ("四川省", "成都市", "武侯区", "人民南路四段1号"),
    ("重庆市", "重庆市", "渝中区", "解放碑民权路28号"),
    ("贵州省", "贵阳市", "云岩区", "中华北路242号"),
    ("云南省", "昆明市", "五华区", "东风西路11号"),
    ("陕西省", "西安市", "雁塔区", "长安南路563号"),
    ("甘肃省", "兰州市", "城关区", "东岗西路638号"),
    ("宁夏回族自治区", "银川市", "兴庆区", "解放西街2号"),
    ("青海省", "西宁市", "城西区", "五四大街18号"),
    ("新疆维吾尔自治区", "乌鲁木齐市", "天山区", "解放南路339号"),
    ("西藏自治区", "拉萨市", "城关区", "北京中路48号"),
]

# What buyers really type now and then: each is held with a reason an operator can fix.
BAD_ADDRESSES = [
    (None, None, None, "朝阳区建国路88号"),  # two 朝阳区 in China: ambiguous
    ("浙江省", "杭州市", "西湖区", ""),  # no street and number
    ("广东省", "广州市", "南山区", "科技园科苑路15号"),  # 南山区 is in 深圳
    ("四川省", "成都市", None, "天府大道北段1700号"),  # no district
]

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁"
    "谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢"
)
GIVEN = "伟芳娜敏静丽强磊洋艳勇军杰娟涛明超秀霞平刚桂英华玉兰萍红"
MOBILE_PREFIXES = [
    "138",
    "139",
    "136",
    "137",
    "150",
    "151",
    "158",
    "159",
    "186",
    "187",
    "188",
    "133",
    "177",
    "199",
]
MESSAGES = ["", "", "", "", "请尽快发货", "麻烦帮忙包装成礼物, 谢谢", "不要放快递柜", "周末再送"]


def _receiver(rng: random.Random) -> dict[str, Any]:
    roll = rng.random()
    province, city, district, detail = rng.choice(BAD_ADDRESSES if roll < 0.02 else ADDRESSES)
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
    if 0.02 <= roll < 0.03:
        phone = phone[:-1]  # a digit short
    return {
        "name": name,
        "phone": phone,
        "province": province,
        "city": city,
        "district": district,
        "address": detail,
    }


def orders(
    n: int,
    skus: list[DemoSku],
    shop: str,
    *,
    seed: int = 11,
    day: str = "2026-11-11",
    start: int = 1,
) -> list[dict[str, Any]]:
    """``n`` canonical orders for one shop over one day, with a realistic share of problems:
    ~5% unpaid, ~1% cancelled, ~2% unknown SKUs; stock is set so some SKUs oversell."""
    rng = random.Random(f"{seed}-{shop}")
    base = datetime.fromisoformat(day).replace(tzinfo=SHANGHAI)
    sellable = [s for s in skus if s.sku]
    hot = [s for s in sellable if s.sku.startswith(("DOWN-", "CRAB-", "TEE-M", "HOOD-L"))]
    out = []
    for i in range(start, start + n):
        # Double-11 traffic: a spike right after midnight, then the evening peak.
        minute = int(rng.triangular(0, 1440, 1260)) if rng.random() > 0.25 else rng.randrange(0, 90)
        created = base + timedelta(minutes=minute, seconds=rng.randrange(60))
        lines = []
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            sku = rng.choice(hot) if rng.random() < 0.3 else rng.choice(sellable)
            qty = 1 if "bulky" in sku.tags else rng.choice((1, 1, 1, 2, 3))
            lines.append(
                {
                    "sku": sku.sku,
                    "quantity": qty,
                    "unit_price": str(sku.price),
                    "name": sku.name,
                    "spec": sku.spec,
                }
            )
        roll = rng.random()
        status = "unpaid" if roll < 0.05 else "cancelled" if roll < 0.06 else "paid"
        if rng.random() < 0.02:  # a delisted product still listed on the channel
            lines[0] = {
                **lines[0],
                "sku": f"OLD-{rng.randrange(100, 999)}",
                "name": "旧款(已下架)",
                "spec": "默认",
            }
        goods = sum(Decimal(str(ln["unit_price"])) * int(str(ln["quantity"])) for ln in lines)
        out.append(
            {
                "external_id": f"{shop}-{created:%y%m%d}{i:07d}",
                "status": status,
                "created_at": created.isoformat(),
                "paid_at": (created + timedelta(seconds=rng.randrange(5, 120))).isoformat()
                if status != "unpaid"
                else None,
                "buyer": {
                    "id": f"{shop.lower()}-b{rng.randrange(1, max(n // 2, 2))}",
                    "nick": f"买家{rng.randrange(10000)}",
                },
                "receiver": _receiver(rng),
                "lines": lines,
                "shipping_fee": "0.00" if goods >= 99 else "8.00",
                "discount": str((goods * Decimal("0.05")).quantize(Decimal("0.01")))
                if goods > 300
                else "0.00",
                "buyer_message": rng.choice(MESSAGES),
                "seller_memo": "",
                "tags": ["双11"],
            }
        )
    return out


def stock_plan(skus: list[DemoSku], *, seed: int = 11) -> list[tuple[str, str, int]]:
    """(sku, warehouse, qty): clothing everywhere, fresh in HZ and GZ, furniture in HZ only;
    a few hot SKUs get little stock so the demo shows overselling being stopped."""
    rng = random.Random(seed)
    plan = []
    for s in skus:
        if s.components:
            continue
        if "fresh" in s.tags:
            whs = ["HZ", "GZ"]
        elif "bulky" in s.tags:
            whs = ["HZ"]
        else:
            whs = ["HZ", "GZ", "BJ"]
        for wh in whs:
            scarce = s.sku.startswith(("DOWN-M", "CRAB-5L", "SOFA-L"))
            qty = rng.randrange(0, 4) if scarce else rng.randrange(30, 200)
            if qty:
                plan.append((s.sku, wh, qty))
    return plan


# The demo merchant's review rules (the same shape as docs/examples/rules.yaml).
RULES = {
    "rules": [
        {
            "name": "本地订单自动审核",
            "priority": 10,
            "when": {
                "fact": "receiver_province",
                "op": "in",
                "value": ["浙江省", "江苏省", "上海市"],
            },
            "then": [{"action": "approve", "reason": "江浙沪本地订单"}],
        },
        {
            "name": "大额订单人工复核",
            "priority": 30,
            "when": {"fact": "total_amount", "op": "gt", "value": 5000},
            "then": [{"action": "manual_review", "reason": "订单金额超过5000元"}],
            "review_steps": ["customer_service", "finance"],
        },
        {
            "name": "生鲜走杭州仓",
            "priority": 50,
            "when": {"fact": "sku_tags", "op": "contains", "value": "fresh"},
            "then": [
                {
                    "action": "assign_warehouse",
                    "warehouse": "HZ",
                    "reason": "生鲜从有冷库的杭州仓发",
                },
                {"action": "add_tag", "tag": "生鲜"},
            ],
        },
    ]
}
