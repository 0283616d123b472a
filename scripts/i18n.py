"""Keep the pages' Chinese catalog in step with the code (ADR 0007).

    .venv/bin/python scripts/i18n.py          # extract, update messages.po, list what is missing
    .venv/bin/python scripts/i18n.py --check  # exit 1 when a string has no translation

Extracts every marked string (``_()``/``gettext`` in templates, ``N_()`` and ``_()`` in the
pages' Python) with Babel, merges it into ``src/lvyue/web/locale/zh_CN/LC_MESSAGES/messages.po``
(keeping existing translations, dropping strings no longer used) and prints the untranslated
ones. Nothing is compiled: the package reads the .po file itself.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "lvyue"
CATALOG = SOURCE / "web" / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po"
METHODS = [
    ("**/templates/**.html", "jinja2"),
    ("**/web.py", "python"),
    ("**/*_web.py", "python"),
    ("web/**.py", "python"),
]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}


def extract() -> Catalog:
    template = Catalog(project="lvyue", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        SOURCE, METHODS, keywords=KEYWORDS, options_map=OPTIONS, comment_tags=("i18n:",)
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def missing(catalog: Catalog) -> list[str]:
    return [
        str(m.id)
        for m in catalog
        if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)) or m.fuzzy)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if incomplete")
    args = parser.parse_args()
    template = extract()
    with CATALOG.open("rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    catalog.update(template, no_fuzzy_matching=True)
    todo = missing(catalog)
    if not args.check:
        catalog.obsolete.clear()
        with CATALOG.open("wb") as fh:
            write_po(fh, catalog, width=100, sort_output=False, omit_header=False)
    for msgid in todo:
        print(f"untranslated: {msgid!r}")
    print(f"{len(catalog)} strings, {len(todo)} untranslated")
    return 1 if todo else 0


if __name__ == "__main__":
    sys.exit(main())
