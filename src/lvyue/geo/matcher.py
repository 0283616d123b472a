"""Anchored name lookup over every division name and alias.

Region names sit at the start of an address, one after another, so the question the parser asks
is always "which names start exactly here?", never "which names occur anywhere?". A hash map from
name to aliases, plus for each first character the name lengths that exist, answers that with a
handful of dict probes per position; it is a trie flattened by length, built in a few
milliseconds from the division index. ``docs/adr/0003-address-matcher.md`` compares it with an
Aho-Corasick automaton.
"""

from __future__ import annotations

from lvyue.geo.divisions import Alias


class NameMatcher:
    def __init__(self, aliases: dict[str, tuple[Alias, ...]]) -> None:
        self._aliases = aliases
        lengths: dict[str, set[int]] = {}
        for name in aliases:
            lengths.setdefault(name[0], set()).add(len(name))
        # Longest first, so callers that want leftmost-longest can stop at the first hit.
        self._lengths = {c: tuple(sorted(ls, reverse=True)) for c, ls in lengths.items()}

    def prefixes(self, text: str, pos: int) -> list[tuple[int, tuple[Alias, ...]]]:
        """Every (end, aliases) for names that start at ``pos`` in ``text``, longest first."""
        lengths = self._lengths.get(text[pos]) if pos < len(text) else None
        if not lengths:
            return []
        found = []
        limit = len(text) - pos
        get = self._aliases.get
        for n in lengths:
            if n <= limit:
                hit = get(text[pos : pos + n])
                if hit:
                    found.append((pos + n, hit))
        return found

    def get(self, name: str) -> tuple[Alias, ...]:
        return self._aliases.get(name, ())
