"""Search-result text for pages: a name cut into marked and unmarked segments, and an excerpt around the first
search term. The template escapes each segment and wraps the marked ones in ``<mark>`` — no HTML is built here.

Used by the catalog's search page and the open-data portal's search.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Segments = list[tuple[str, bool]]


def marked(text: str, terms: list[str]) -> Segments:
    """``text`` cut into (segment, is_a_search_term) pairs, longest term first, case-insensitive."""
    terms = [t for t in terms if t]
    if not terms or not text:
        return [(text, False)]
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE)
    out, last = [], 0
    for m in pattern.finditer(text):
        if m.start() > last:
            out.append((text[last:m.start()], False))
        out.append((m.group(), True))
        last = m.end()
    if last < len(text):
        out.append((text[last:], False))
    return out


def excerpt(text: str | None, terms: list[str], width: int = 110, *,
            fold: Callable[[str], str] = str.lower) -> Segments:
    """About ``width`` characters of ``text`` (whitespace collapsed) around the first search term, "…" where cut,
    with the terms marked. ``fold`` makes text and terms comparable when looking for the first term."""
    text = " ".join((text or "").split())
    if not text:
        return []
    folded = fold(text)
    hits = [p for p in (folded.find(fold(t)) for t in terms if t) if p >= 0]
    start = max(min(hits) - width // 3, 0) if hits else 0
    piece = text[start:start + width]
    prefix, suffix = ("…" if start else ""), ("…" if start + width < len(text) else "")
    return marked(prefix + piece + suffix, terms)
