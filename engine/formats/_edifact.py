"""UN/EDIFACT interchanges → positioned segments, parsed by pydifact.

pydifact parses a whole interchange but stops at the first bad segment and does not say
where segments sit in the file. So the text is first cut into segments here (honouring the
release character), each with its 1-based position in the file and its line; pydifact then
parses them — all at once when the interchange is clean, one by one only to pin down which
segments are broken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydifact.control.characters import Characters
from pydifact.parser import Parser
from pydifact.segments import Segment, SegmentFactory

Element = str | list[str]


class _Factory(SegmentFactory):
    """pydifact's factory without directory validation (it ships no directories and would
    warn on every segment); Lookout checks the segments it maps itself."""

    @staticmethod
    def create_segment(
        name: str, *elements: Element, validate: bool = True, version: str = "", directory: str = ""
    ) -> Segment:
        return SegmentFactory.create_segment(
            name, *elements, validate=False, version=version, directory=directory
        )


@dataclass
class RawSegment:
    """One segment: position in the file (1-based, UNA counts), line, text and parse result."""

    position: int
    line: int
    text: str
    tag: str
    elements: list[Element]
    error: str | None = None

    def element(self, index: int) -> Element:
        """Data element ``index`` (0-based, after the tag), '' when absent."""
        return self.elements[index] if index < len(self.elements) else ""

    def component(self, index: int, sub: int = 0) -> str:
        """Component ``sub`` of data element ``index``, '' when absent."""
        value = self.element(index)
        if isinstance(value, list):
            return value[sub] if sub < len(value) else ""
        return value if sub == 0 else ""

    def components(self, index: int) -> list[str]:
        value = self.element(index)
        return value if isinstance(value, list) else [value]


def decode(data: bytes) -> str:
    """EDIFACT text: UTF-8 (UNOY/UNOW) when valid, else ISO 8859-1 (UNOC and below)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def control_characters(text: str) -> Characters:
    if text.startswith("UNA") and len(text) >= 9:
        return Characters.from_str(text[:9])
    return Characters()  # type: ignore[no-untyped-call]  # pydifact leaves __init__ untyped


def split_segments(text: str) -> tuple[Characters, list[tuple[int, int, str, bool]]]:
    """Cut ``text`` into (position, line, segment text without terminator, terminated)."""
    chars = control_characters(text)
    out: list[tuple[int, int, str, bool]] = []
    position = 0
    offset = 0
    if text.startswith("UNA") and len(text) >= 9:
        position = 1
        out.append((1, 1, text[:8], True))
        offset = 9
    release = re.escape(chars.escape_character)
    term = re.escape(chars.segment_terminator)
    # A segment runs to its terminator or to the end of the text, a release character left
    # alone at the very end included (a file cut off just after one): without that ending,
    # no match could start anywhere in a last unterminated segment, so the segment was lost
    # and every position in it was tried to the end of the text again (quadratic: a 140 kB
    # fuzzed file took minutes).
    pattern = re.compile(f"(?:{release}.|[^{release}{term}])*(?:{term}|{release}?$)", re.DOTALL)
    line = 1 + text.count("\n", 0, offset)
    for match in pattern.finditer(text, offset):
        raw = match.group(0)
        body = raw[:-1] if raw.endswith(chars.segment_terminator) and raw else raw
        lead = len(body) - len(body.lstrip("\r\n \t"))
        start_line = line + body.count("\n", 0, lead)
        line += raw.count("\n")
        # Line breaks between segments are layout; a trailing space is data (e.g. in FTX).
        body = body.lstrip("\r\n \t").rstrip("\r\n")
        if not body:
            continue
        position += 1
        out.append((position, start_line, body, raw.endswith(chars.segment_terminator)))
    return chars, out


def _tag_of(text: str, chars: Characters) -> str:
    """What stands where the tag should be, for the report of a broken segment."""
    return text.split(chars.data_separator, 1)[0][:10]


def _parse_one(text: str, una: str) -> tuple[str, list[Element]]:
    segments = list(Parser(factory=_Factory()).parse(una + text))
    segments = [s for s in segments if s.tag != "UNA"]
    if len(segments) != 1:
        raise ValueError(f"expected one segment, found {len(segments)}")
    return segments[0].tag, list(segments[0].elements)


def parse_segments(data: bytes) -> list[RawSegment]:
    """Every segment of the file with its position; broken ones carry ``error``."""
    text = decode(data)
    chars, pieces = split_segments(text)
    una = "UNA" + "".join(
        [
            chars.component_separator,
            chars.data_separator,
            chars.decimal_point,
            chars.escape_character,
            chars.reserved_character,
            chars.segment_terminator,
        ]
    )
    is_una = [p[0] == 1 and p[2].startswith("UNA") for p in pieces]
    body = [p for p, skip in zip(pieces, is_una, strict=True) if not skip]
    out = [
        RawSegment(p[0], p[1], p[2], "UNA", [])
        for p, keep in zip(pieces, is_una, strict=True)
        if keep
    ]
    clean = all(p[3] for p in body)
    if clean:
        try:
            joined = "".join(p[2] + chars.segment_terminator for p in body)
            parsed = [s for s in Parser(factory=_Factory()).parse(una + joined) if s.tag != "UNA"]
            if len(parsed) == len(body):
                out += [
                    RawSegment(p[0], p[1], p[2], s.tag, list(s.elements))
                    for p, s in zip(body, parsed, strict=True)
                ]
                return out
        except Exception:
            pass
    for position, line, seg, terminated in body:
        if not terminated:
            out.append(
                RawSegment(
                    position,
                    line,
                    seg,
                    _tag_of(seg, chars),
                    [],
                    "the segment has no terminator (the file is cut off?)",
                )
            )
            continue
        try:
            tag, elements = _parse_one(seg + chars.segment_terminator, una)
        except Exception as err:
            out.append(
                RawSegment(
                    position, line, seg, _tag_of(seg, chars), [], f"not valid EDIFACT: {err}"
                )
            )
            continue
        out.append(RawSegment(position, line, seg, tag, elements))
    return out
