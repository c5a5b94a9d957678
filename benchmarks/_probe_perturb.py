"""Perturbations of list names, one class at a time, as manifests write them.

Each function takes an upper-case list name and a seeded ``random.Random`` and returns the
perturbed name, or ``None`` when the class does not apply to that name (a one-word name has
no word order; a name without a word of five letters gets no typo). The probe reports how
many names each class skipped.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

# Legal forms as manifests write them; a change swaps within a family (LLC <-> OOO ...).
_FORM_FAMILIES: list[list[str]] = [
    ["LLC", "OOO", "TOO", "LIMITED LIABILITY COMPANY", "L.L.C."],
    ["JSC", "AO", "PJSC", "PAO", "ZAO", "OAO", "JOINT STOCK COMPANY", "OJSC"],
    ["LTD", "LIMITED", "CO., LTD.", "CO LTD", "COMPANY LIMITED"],
    ["FZE", "FZCO", "FZ LLC"],
    ["GMBH", "AG"],
    ["SA", "S.A.", "SRL", "S.R.L."],
    ["INC", "INC.", "CORP", "CORPORATION"],
    ["PLC"],
    ["PTE LTD", "PTE. LTD."],
]
_FORMS = sorted({f for family in _FORM_FAMILIES for f in family}, key=len, reverse=True)
_FORM_TOKENS = {"LTD", "LIMITED", "LLC", "CO", "COMPANY", "CORPORATION", "CORP", "INC", "PLC",
                "GMBH", "AG", "SA", "SRL", "OOO", "ZAO", "AO", "PAO", "OAO", "TOO", "JSC", "PJSC",
                "OJSC", "CJSC", "FZE", "FZCO", "PTE"}  # fmt: skip
_FORM_RE = "|".join(re.escape(f.rstrip(".")) for f in _FORMS)
_FORM_AT_END = re.compile(r"[\s,]+(" + _FORM_RE + r")\.?\s*$")
_FORM_AT_START = re.compile(r"^(" + _FORM_RE + r")\.?\s+")

# What a manifest adds to a name: a trade word, a place, a bracketed country code.
EXTRA_WORDS: list[str] = [
    "TRADING", "GROUP", "INTERNATIONAL", "(HK)", "HOLDING", "LOGISTICS", "BRANCH",
    "DUBAI BRANCH", "GENERAL TRADING", "IMPORT EXPORT", "OVERSEAS", "(PVT)", "SERVICES",
    "ENTERPRISES", "SHIPPING", "INDUSTRIES", "(UAE)", "GLOBAL", "COMMERCIAL",
]  # fmt: skip

# Transliteration conventions by the origin of the name: (spelling in the list, other).
TRANSLIT_RULES: dict[str, list[tuple[str, str]]] = {
    "russian": [("KH", "H"), ("KH", "X"), ("KH", "CH"), ("ZH", "J"), ("ZH", "Z"), ("TS", "C"),
                ("TS", "TZ"), ("CH", "TCH"), ("SH", "SCH"), ("YU", "IU"), ("YA", "IA"),
                ("Y", "J"), ("KS", "X"), ("V", "W"), ("E", "YE"), ("GRUPP", "GROUP")],
    "arabic": [("OU", "U"), ("U", "OU"), ("OO", "U"), ("EE", "I"), ("KH", "H"), ("Q", "GH"),
               ("Q", "K"), ("GH", "G"), ("EH", "E"), ("MOHAMMED", "MUHAMMAD"),
               ("MUHAMMAD", "MOHAMED"), ("MOHAMMAD", "MUHAMMED"), ("AHMED", "AHMAD"),
               ("AHMAD", "AHMED"), ("ABDUL", "ABDEL"), ("AL-", "EL-"), ("DH", "Z"), ("TH", "T"),
               ("J", "DJ"), ("Y", "I"), ("I", "Y"), ("SH", "CH"), ("AI", "AY"), ("E", "A")],
    "korean": [("KW", "GW"), ("K", "G"), ("P", "B"), ("CH", "J"), ("T", "D"), ("YO", "YEO"),
               ("U", "EU"), ("RY", "R"), ("O", "EO"), ("SH", "S")],
    "chinese": [("ZH", "CH"), ("X", "HS"), ("Q", "CH"), ("J", "CH"), ("C", "TS"), ("Z", "TS"),
                ("R", "J"), ("ONG", "UNG"), ("IAN", "IEN")],
    "other": [("C", "K"), ("K", "C"), ("X", "KS"), ("PH", "F"), ("Y", "I"), ("I", "Y"),
              ("W", "V"), ("OU", "U"), ("E", "A")],
}  # fmt: skip


def _core_tokens(words: list[str]) -> list[int]:
    return [i for i, w in enumerate(words) if re.sub(r"\W", "", w) not in _FORM_TOKENS]


def typo(name: str, rng: random.Random) -> str | None:
    """One edit (substitution, deletion, insertion or swap) inside a word of ≥ 5 letters."""
    words = name.split()
    long = [i for i in _core_tokens(words) if len(re.sub(r"[^A-Z]", "", words[i])) >= 5]
    if not long:
        return None
    i = rng.choice(long)
    w = words[i]
    letters = [k for k in range(1, len(w) - 1) if w[k].isalpha()]
    if not letters:
        return None
    j = rng.choice(letters)
    op = rng.choice(["sub", "del", "ins", "swap"])
    letter = rng.choice([c for c in "ABCDEFGHIKLMNOPRSTUVYZ" if c != w[j]])
    words[i] = {
        "sub": w[:j] + letter + w[j + 1 :],
        "del": w[:j] + w[j + 1 :],
        "ins": w[:j] + letter + w[j:],
        "swap": w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :],
    }[op]
    return " ".join(words)


def merge_split(name: str, rng: random.Random) -> str | None:
    """Two adjacent words run together (a third of the time with a stray letter for the
    space, ``VABOESYSTEMS``), or a long word split in two."""
    words = name.split()
    core = _core_tokens(words)
    pairs = [i for i in core if i + 1 in core and words[i].isalpha() and words[i + 1].isalpha()]
    if pairs and rng.random() < 0.7:
        i = rng.choice(pairs)
        glue = rng.choice("AEIOUS") if rng.random() < 0.33 else ""
        return " ".join([*words[:i], words[i] + glue + words[i + 1], *words[i + 2 :]])
    long = [i for i in core if words[i].isalpha() and len(words[i]) >= 8]
    if not long:
        if not pairs:
            return None
        i = rng.choice(pairs)
        return " ".join([*words[:i], words[i] + words[i + 1], *words[i + 2 :]])
    i = rng.choice(long)
    cut = rng.randrange(3, len(words[i]) - 2)
    return " ".join([*words[:i], words[i][:cut], words[i][cut:], *words[i + 1 :]])


def word_order(name: str, rng: random.Random) -> str | None:
    """The words shuffled (a different order guaranteed)."""
    words = name.split()
    if len(set(words)) < 2:
        return None
    shuffled = words[:]
    while shuffled == words:
        rng.shuffle(shuffled)
    return " ".join(shuffled)


def legal_form(name: str, rng: random.Random) -> str | None:
    """The legal form dropped, changed within its family, or added when there is none."""
    for pattern in (_FORM_AT_END, _FORM_AT_START):
        found = pattern.search(name)
        if found:
            form = found.group(1)
            family = next(f for f in _FORM_FAMILIES if any(x.rstrip(".") == form for x in f))
            others = [f for f in family if f != form] or ["LLC"]
            bare = (name[: found.start()] + " " + name[found.end() :]).strip(" ,")
            if rng.random() < 0.5 or not bare:
                return f"{bare} {rng.choice(others)}".strip() if bare else None
            return bare
    family = rng.choice(_FORM_FAMILIES)
    return f"{name} {rng.choice(family)}"


def extra_word(name: str, rng: random.Random) -> str:
    """One trade word, place or bracketed code added at the end (two-word ones are rarer)."""
    return f"{name} {rng.choice(EXTRA_WORDS)}"


def transliteration(name: str, rng: random.Random, origin: str = "other") -> str | None:
    """One or two spelling conventions of the name's origin swapped (``KH`` -> ``H``,
    ``MOHAMMED`` -> ``MUHAMMAD``, ``KWANG`` -> ``GWANG``)."""
    words = name.split()
    core = _core_tokens(words)
    rules = TRANSLIT_RULES[origin]
    out = name
    for _ in range(2 if rng.random() < 0.3 else 1):
        spots = [
            (i, old, new, k)
            for old, new in rules
            for i in core
            for k in range(len(words[i]))
            if words[i].startswith(old, k)
        ]
        if not spots:
            break
        i, old, new, k = rng.choice(spots)
        words[i] = words[i][:k] + new + words[i][k + len(old) :]
        out = " ".join(words)
    return out if out != name else None


CLASSES: dict[str, Callable[[str, random.Random], str | None]] = {
    "typo": typo,
    "merge_split": merge_split,
    "word_order": word_order,
    "legal_form": legal_form,
    "extra_word": extra_word,
}
"""The origin-independent classes; ``transliteration`` and ``alias`` need more context."""
