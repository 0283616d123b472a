"""Anchored name lookup over every division name and alias.

Region names sit at the start of an address, one after another, so the parser's question is
always "which names start exactly here?", never "which names occur anywhere?". A character trie
answers it by walking from that position until the trie has no branch for the next character:
a handful of dict probes, and it returns every name ending on the way (吉林 and 吉林市), which
the parser needs to try each segmentation. ``docs/adr/0003-address-matcher.md`` compares it with
an Aho-Corasick automaton.
"""

from __future__ import annotations

from typing import Any

from lvyue.geo.divisions import Alias

_END = ""  # key under which a trie node keeps the aliases of the name ending there


class NameMatcher:
    def __init__(self, aliases: dict[str, tuple[Alias, ...]]) -> None:
        self._aliases = aliases
        root: dict[str, Any] = {}
        for name, entries in aliases.items():
            node = root
            for ch in name:
                node = node.setdefault(ch, {})
            node[_END] = entries
        self._root = root

    def prefixes(self, text: str, pos: int) -> list[tuple[int, tuple[Alias, ...]]]:
        """Every (end, aliases) for names that start at ``pos`` in ``text``, shortest first."""
        found: list[tuple[int, tuple[Alias, ...]]] = []
        node = self._root
        for i in range(pos, len(text)):
            child = node.get(text[i])
            if child is None:
                break
            node = child
            hit = node.get(_END)
            if hit is not None:
                found.append((i + 1, hit))
        return found

    def get(self, name: str) -> tuple[Alias, ...]:
        return self._aliases.get(name, ())
