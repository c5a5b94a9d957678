"""Synthetic look-alike sanctioned companies for the screening probe.

The shipped UN list is mostly individuals and armed groups; the companies a customs unit
screens against on national or regional lists look different: Russian-style compound names
with a prefixed legal form (``OOO "EKOGRUPP"``, ``AO RADIOTEKHSNAB``), Iranian banks and
shipping lines with subsidiaries whose names nest inside each other (``BANK MELLI IRAN`` /
``MELLI BANK PLC``), Chinese and Korean trading houses, short brand names (``CIMEX``,
``VABO SYSTEMS``). This module invents such a list (no real entity), in the same frame shape
:class:`engine.watchlist.Watchlist` holds, with aliases (other transliterations, the name in
Cyrillic, former names) as further names of the same entry.

Every name is built from invented words, so the list is reproducible from a seed and holds
no real person or company.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import polars as pl

LIST_NAME = "Synthetic sanctions"

# Russian-style compound names: Cyrillic parts, transliterated two ways below.
_RU_HEAD = [
    "РАДИО", "ЭНЕРГО", "ПРОМ", "СТРОЙ", "МАШ", "НЕФТЕ", "АВТО", "ЭЛЕКТРО", "СИБ", "УРАЛ",
    "ЭКО", "АГРО", "ТРАНС", "ХИМ", "МИКРО", "СПЕЦ", "АЭРО", "ГИДРО", "ТЕПЛО", "ВОЛГО",
    "ОПТО", "ТЕХНО", "МЕТАЛЛО", "ЖЕЛДОР", "БАЛТ", "ДАЛЬ", "КРАС", "ЧЕЛЯБ", "ЮГО",
]  # fmt: skip
_RU_TAIL = [
    "СНАБ", "СЕРВИС", "ТЕХ", "ПРОМ", "ИНВЕСТ", "ГРУПП", "КОМПЛЕКТ", "МАШ", "СТРОЙ", "ТОРГ",
    "ЭКСПОРТ", "ЛОГИСТИК", "РЕСУРС", "СИСТЕМЫ", "ПРИБОР", "ХОЛДИНГ", "ЦЕНТР", "ЖЕЛЕЗО",
    "ТЕХСНАБ", "ХИМПРОМ", "ЭЛЕКТРОНИКА", "ОБОРОНЕКС", "ВЕКТОР", "ЩИТ",
]  # fmt: skip
_RU_FORM = ["ООО", "АО", "ЗАО", "ПАО", "НПО"]
_RU_FORM_LATIN = {"ООО": "OOO", "АО": "AO", "ЗАО": "ZAO", "ПАО": "PAO", "НПО": "NPO"}

# The list's own transliteration (BGN/PCGN-like) and a second system a manifest may use.
_LIST_SYSTEM = {
    "А": "A", "Б": "B", "В": "V", "Г": "G", "Д": "D", "Е": "E", "Ж": "ZH", "З": "Z",
    "И": "I", "Й": "Y", "К": "K", "Л": "L", "М": "M", "Н": "N", "О": "O", "П": "P",
    "Р": "R", "С": "S", "Т": "T", "У": "U", "Ф": "F", "Х": "KH", "Ц": "TS", "Ч": "CH",
    "Ш": "SH", "Щ": "SHCH", "Ы": "Y", "Ь": "", "Э": "E", "Ю": "YU", "Я": "YA",
}  # fmt: skip
_OTHER_SYSTEM = {
    **_LIST_SYSTEM,
    "Ж": "J", "Й": "I", "Х": "H", "Ц": "C", "Ч": "TCH", "Ш": "SCH", "Щ": "SCH",
    "Ы": "I", "Ю": "IU", "Я": "IA", "Э": "E",
}  # fmt: skip

# Persian-style syllables; a manifest spells the same word by other conventions (below).
_FA_SYLLABLES = [
    "SE", "PEHR", "AF", "TAB", "NA", "VID", "MEH", "RAZ", "TO", "SEH", "BEH", "SAZ", "KA",
    "VEH", "ZAG", "ROS", "PAR", "SIAN", "SHAH", "RAK", "KHA", "VA", "RAN", "GOL", "NOOR",
    "DAR", "YA", "VAND", "ROUD", "SAR", "AR", "RAH", "ZAD", "QESH", "MAN", "ES", "FAN", "DI",
    "BAN", "DEH", "DOUS", "TAN", "YE", "NEH", "BAR", "ZIN", "MEHR", "GAN", "KISH", "ABAD",
]  # fmt: skip
_FA_SPELLINGS = [("OU", "U"), ("OO", "U"), ("KH", "H"), ("Q", "GH"), ("EH", "E"), ("I", "EE"),
                 ("A", "AA"), ("V", "W"), ("E", "I")]  # fmt: skip
_FA_KIND = [
    "TRADING COMPANY", "SHIPPING LINES", "PETROCHEMICAL COMPANY", "INDUSTRIAL GROUP",
    "ENGINEERING COMPANY", "COMMERCIAL COMPANY", "ELECTRONICS", "STEEL COMPANY",
]  # fmt: skip

# Chinese-style: pinyin syllables, their Wade-Giles spelling, a city, an industry word.
_ZH_SYLLABLES = {
    "XIN": "HSIN", "ZHONG": "CHUNG", "QIAN": "CHIEN", "JIANG": "CHIANG", "ZHAO": "CHAO",
    "XU": "HSU", "QING": "CHING", "ZHEN": "CHEN", "JUN": "CHUN", "XIANG": "HSIANG",
    "CHANG": "CHANG", "HAO": "HAO", "RUI": "JUI", "ZE": "TSE", "CAN": "TSAN",
}  # fmt: skip
_ZH_CITY = ["DALIAN", "WUHAN", "ZHUHAI", "XIAMEN", "HEFEI", "CHANGSHA", "NANCHANG", "JINAN"]
_ZH_KIND = ["TECHNOLOGY", "MACHINERY", "OPTICS", "PRECISION INSTRUMENT", "METALS", "AVIATION"]

# Korean-style syllables (DPRK trading houses), respelt McCune-Reischauer -> revised.
_KO_SYLLABLES = [
    "RYONG", "GAK", "PU", "GANG", "SONG", "CHON", "KWANG", "MYONG", "TAE", "CHOL", "SAN",
    "PYOL", "MU", "RI", "KUM", "HAE", "MYO", "HYANG", "O", "CHANG", "HYOK", "SIN", "PYONG",
    "HUNG", "CHIL", "NAM", "PO", "TAN", "KYONG", "RAK", "WON", "SU",
]  # fmt: skip
_KO_SPELLINGS = [("KW", "GW"), ("K", "G"), ("P", "B"), ("CH", "J"), ("T", "D"), ("YO", "YEO"),
                 ("U", "EU"), ("RY", "Y"), ("O", "EO")]  # fmt: skip
_KO_KIND = [
    "TRADING CORPORATION", "GENERAL TRADING CORPORATION", "SHIPPING COMPANY",
    "MINING DEVELOPMENT CORPORATION", "BANK", "TECHNOLOGY CORPORATION",
]  # fmt: skip

# Short brand-like names of the kind Latin American and Western fronts use.
_BRAND_SYLLABLES = [
    "VA", "BO", "CI", "MEX", "GA", "E", "SA", "TOR", "LAN", "ZU", "RI", "KO", "NEX", "DAL",
    "VIR", "TEK", "OL", "AX", "QUI", "MAR", "FIN", "TRO", "SEL", "BRA", "NU", "VEX", "LO",
]  # fmt: skip
_BRAND_KIND = ["", "", "SYSTEMS", "TECHNOLOGIES", "SOLUTIONS", "MARITIME", "CORPORATION"]
_BRAND_FORM = ["SA", "LTD", "FZE", "LLC", "SRL", "INC", ""]

# Subsidiaries: a parent's core name plus one of these (names nest inside each other).
_SUBSIDIARY = [
    "EUROPE GMBH", "SHIPPING", "TRADING FZE", "MARINE SERVICES", "HONG KONG LIMITED",
    "MIDDLE EAST FZE", "ASIA PTE LTD", "INTERNATIONAL", "LEASING", "FINANCE",
]  # fmt: skip


@dataclass(frozen=True)
class SynthEntry:
    """One synthetic entry: its primary name, aliases, and the naming style."""

    reference: str
    name: str
    aliases: tuple[str, ...]
    style: str


def _translit(cyrillic: str, system: dict[str, str]) -> str:
    return "".join(system.get(ch, ch) for ch in cyrillic)


def _russian(rng: random.Random) -> tuple[str, tuple[str, ...], str]:
    core = rng.choice(_RU_HEAD) + rng.choice(_RU_TAIL)
    if rng.random() < 0.25:
        core = f"{core} {rng.choice(_RU_HEAD).rstrip('О')}"
    form = rng.choice(_RU_FORM)
    latin = _translit(core, _LIST_SYSTEM)
    prefixed = rng.random() < 0.6
    name = f'{_RU_FORM_LATIN[form]} "{latin}"' if prefixed else f"{latin} {_RU_FORM_LATIN[form]}"
    aliases = [f"{form} «{core}»"]
    other = _translit(core, _OTHER_SYSTEM)
    if other != latin:
        aliases.append(other)
    return name, tuple(aliases), core


def respell(word: str, rules: list[tuple[str, str]], rng: random.Random) -> str:
    """``word`` with one spelling convention swapped (the first applicable rule in a
    shuffled order, at one of its positions); ``word`` itself when none applies."""
    for old, new in rng.sample(rules, len(rules)):
        spots = [i for i in range(len(word)) if word.startswith(old, i)]
        if spots:
            i = rng.choice(spots)
            return word[:i] + new + word[i + len(old) :]
    return word


def _word(rng: random.Random, syllables: list[str], count: int) -> str:
    return "".join(rng.choice(syllables) for _ in range(count))


def _persian(rng: random.Random) -> tuple[str, tuple[str, ...], str]:
    a, b = _word(rng, _FA_SYLLABLES, 2), _word(rng, _FA_SYLLABLES, rng.choice([2, 3]))
    shape = rng.random()
    if shape < 0.3:
        name = f"{a} {rng.choice(_FA_KIND)}"
    elif shape < 0.6:
        name = f"{a} {b} {rng.choice(_FA_KIND)}"
    elif shape < 0.8:
        name = f"BANK {a} IRAN"
    else:
        name = f"{a} {b}"
    alias = name.replace(a, respell(a, _FA_SPELLINGS, rng), 1)
    return name, (alias,) if alias != name else (), a


def _chinese(rng: random.Random) -> tuple[str, tuple[str, ...], str]:
    s1, s2 = rng.sample(sorted(_ZH_SYLLABLES), 2)
    core = s1 + s2
    kind = rng.choice(_ZH_KIND)
    name = f"{rng.choice(_ZH_CITY)} {core} {kind} CO., LTD."
    wade = f"{_ZH_SYLLABLES[s1]}{_ZH_SYLLABLES[s2]}"
    return name, (f"{wade} {kind} CO., LTD.",), core


def _korean(rng: random.Random) -> tuple[str, tuple[str, ...], str]:
    word = _word(rng, _KO_SYLLABLES, 2)
    kind = rng.choice(_KO_KIND)
    name = f"KOREA {word} {kind}" if rng.random() < 0.6 else f"{word} {kind}"
    alias = f"{respell(word, _KO_SPELLINGS, rng)} {kind}"
    return name, (alias,) if alias != name else (), word


def _brand(rng: random.Random) -> tuple[str, tuple[str, ...], str]:
    core = "".join(rng.choice(_BRAND_SYLLABLES) for _ in range(rng.choice([2, 2, 3])))
    if len(core) < 4:
        core += rng.choice(_BRAND_SYLLABLES)
    kind = rng.choice(_BRAND_KIND)
    name = " ".join(p for p in (core, kind, rng.choice(_BRAND_FORM)) if p)
    former = "".join(rng.choice(_BRAND_SYLLABLES) for _ in range(3))
    aliases = (f"{former} {kind}".strip(),) if rng.random() < 0.4 else ()
    return name, aliases, core


_STYLES = {
    "russian": (_russian, 0.3),
    "persian": (_persian, 0.25),
    "chinese": (_chinese, 0.15),
    "korean": (_korean, 0.1),
    "brand": (_brand, 0.2),
}


def synthetic_entries(n: int, *, seed: int = 17) -> list[SynthEntry]:
    """``n`` invented sanctioned companies (plus subsidiaries of about one in five)."""
    rng = random.Random(seed)
    styles = list(_STYLES)
    weights = [w for _, w in _STYLES.values()]
    entries: list[SynthEntry] = []
    seen: set[str] = set()
    while len(entries) < n:
        style = rng.choices(styles, weights)[0]
        name, aliases, core = _STYLES[style][0](rng)
        # one entry per core word: unrelated entries never share their distinctive word
        if name in seen or core in seen:
            continue
        seen.update((name, core))
        entries.append(SynthEntry(f"SY-{len(entries) + 1:04d}", name, aliases, style))
        related: list[str] = []
        if rng.random() < 0.2:
            latin = _translit(core, _LIST_SYSTEM) if style == "russian" else core
            related += [f"{latin} {extra}" for extra in rng.sample(_SUBSIDIARY, rng.randint(1, 2))]
        if name.startswith("BANK ") and rng.random() < 0.5:
            # the nested pair of the issue: BANK X IRAN and X BANK PLC are two entries
            related.append(f"{core} BANK PLC")
        for sub in related:
            if sub not in seen:
                seen.add(sub)
                entries.append(SynthEntry(f"SY-{len(entries) + 1:04d}", sub, (), style))
    return entries


def synthetic_parties(entries: list[SynthEntry]) -> pl.DataFrame:
    """The entries as watchlist party rows (one per name or alias), like a loaded list."""
    rows = [
        {
            "entry": f"{LIST_NAME}: {e.reference} {e.name}",
            "list": LIST_NAME,
            "reference": e.reference,
            "name": e.name,
            "alias": alias,
            "party_type": "entity",
            "address": None,
        }
        for e in entries
        for alias in (e.name, *e.aliases)
    ]
    return pl.DataFrame(rows, schema={k: pl.String for k in rows[0]})
