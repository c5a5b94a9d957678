"""What a Russian page or reason must not read: the English of the engine-made texts that
are translated (run-record notes, drift warnings, the watchlist match explanation), taken
from the templates themselves so that a new or changed text is covered."""

from __future__ import annotations

import re
import string
from functools import cache

from api.i18n import _NESTED_TEXTS, KNOWN_TEXTS
from engine._screen_match import EXPLANATION_RU


@cache
def leftover_english() -> re.Pattern[str]:
    """A pattern of the English words and phrases of every translated engine text."""
    chunks: set[str] = set()
    nested = [t for texts in _NESTED_TEXTS.values() for t in texts]
    for template in (*KNOWN_TEXTS, *nested):
        for literal, _name, _spec, _conv in string.Formatter().parse(template):
            for piece in re.findall(r"[a-z][a-z' -]*[a-z]", literal):
                if " " in piece or len(piece) >= 7:
                    chunks.add(piece)
    for pattern, _russian in EXPLANATION_RU:
        chunks.update(w for w in re.findall(r"[a-z]+(?: [a-z]+)*", pattern) if len(w) >= 4)
    alternatives = "|".join(re.escape(c) for c in sorted(chunks, key=len, reverse=True))
    # not inside an identifier (a rule id such as missing-weight-or-packages)
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


def assert_no_english_left(text: str, where: str = "") -> None:
    """``text`` (Russian) holds none of the translated engine texts' English."""
    found = leftover_english().search(text)
    assert found is None, (
        f"English engine text left in Russian {where}: "
        f"…{text[max(found.start() - 60, 0) : found.end() + 60]}…"
    )
