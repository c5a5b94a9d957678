"""Fuzzed manifest files: random bytes, and shipped samples mutated the way real exports break.

Shared by the bounded fuzz test (``tests/test_fuzz_ingest.py``) and the long run
(``python -m benchmarks.fuzz_ingest``). Every generated file is checked with
:func:`check_ingest`: ingest either reads it, every record accounted for and every
quarantined record located (file, line, reason), or refuses it with a located error.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from hypothesis import strategies as st

from engine.errors import LookoutError
from engine.ingest import read_chunks

FIXTURES = Path(__file__).resolve().parent / "fixtures"

_CSV = (
    "container_number,bl_number,goods_description,gross_weight_kg,port_of_loading,"
    "port_of_discharge,seals\n"
    'MSKU1234565,BL1,STEEL PIPES 12" DIA,1250.5,CNSHA,UZTAS,S1;S2\n'
    'TGHU7654320,BL2,"COTTON, RAW",2000,SGSIN,NLRTM,S3\n'
    "OOLU7654320,BL3,PLANKS 5',300,AEJEA,KZALA,\n"
)


def seed_files() -> dict[str, bytes]:
    """The shipped samples the mutations start from (CSV, NDJSON, DCSA JSON, CUSCAR)."""
    rows = csv.DictReader(io.StringIO(_CSV))
    ndjson = "".join(json.dumps(r) + "\n" for r in rows).encode()
    dcsa = FIXTURES / "data" / "dcsa" / "ebl"
    return {
        "csv": _CSV.encode(),
        "tsv": _CSV.replace(",", "\t").encode(),
        "ndjson": ndjson,
        "dcsa": (dcsa / "ebl-api-3.0.0-2c2u.json").read_bytes(),
        "dcsa-td": (dcsa / "pint-3.0.0-transport-document.json").read_bytes(),
        "cuscar": (FIXTURES / "cuscar" / "manifest.edi").read_bytes(),
    }


SEEDS = seed_files()
DIRT = [
    b'"',
    b"'",
    b"\r",
    b"\n",
    b"\r\n",
    b"\x00",
    b"\xff\xfe",
    "é".encode("latin-1"),
    "Ташкент".encode("utf-16"),
    "Ташкент".encode("cp1251"),
    b",",
    b";",
    b"\t",
    b"|",
    b"{",
    b"]",
    b"'",
    b"+",
    b"?",
    b'""',
]
HUGE = [1_000, 140_000, 1_100_000]  # past Python's csv field limit, past the record limit


@st.composite
def fuzz_files(draw: st.DrawFn, max_bytes: int | None = None) -> tuple[str, bytes]:
    """(what it started from, the bytes), at most ``max_bytes`` long if given."""
    kind = draw(st.sampled_from(["random", "mutated", "mutated", "mutated", "mutated"]))
    if kind == "random":
        return "random", draw(st.binary(max_size=2_000))
    base = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[base])
    for _ in range(draw(st.integers(1, 6))):
        op = draw(
            st.sampled_from(["insert", "insert", "truncate", "delete", "dup", "flip", "huge"])
        )
        at = draw(st.integers(0, len(data)))
        if op == "insert":
            data[at:at] = draw(st.sampled_from(DIRT)) * draw(st.integers(1, 3))
        elif op == "truncate":
            del data[at:]
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif op == "dup":
            data[at:at] = data[at : at + draw(st.integers(1, 200))]
        elif op == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "huge":
            data[at:at] = draw(st.sampled_from([b"y", b'"', b","])) * draw(st.sampled_from(HUGE))
    return base, bytes(data[:max_bytes])


def check_ingest(path: Path) -> tuple[int, int, int] | str:
    """Read ``path`` with the engine's ingest; assert the invariants.

    Returns (records read, rows, quarantined), or the message of the located error that
    refused the file. Any other exception is a defect and propagates.
    """
    try:
        read = kept = quarantined = 0
        for chunk in read_chunks(path):
            assert chunk.records_read == chunk.rows.height + chunk.quarantine.height
            q = chunk.quarantine
            if q.height:
                assert q["source_file"].null_count() == 0, q
                assert q["source_line"].null_count() == 0 and (q["source_line"] >= 1).all(), q
                assert (q["reason"].fill_null("").str.len_chars() > 0).all(), q
            read += chunk.records_read
            kept += chunk.rows.height
            quarantined += q.height
    except LookoutError as err:
        text = str(err)
        assert not err.message.startswith("internal"), text
        assert err.hint or err.location, text
        return text
    return read, kept, quarantined
