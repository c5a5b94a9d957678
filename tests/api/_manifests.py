"""Small literal manifests for the API tests, with valid ISO 6346 container numbers."""

from __future__ import annotations

import csv
import io

_LETTERS = {
    ch: v
    for ch, v in zip(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        [
            10,
            12,
            13,
            14,
            15,
            16,
            17,
            18,
            19,
            20,
            21,
            23,
            24,
            25,
            26,
            27,
            28,
            29,
            30,
            31,
            32,
            34,
            35,
            36,
            37,
            38,
        ],
        strict=True,
    )
}


def check_digit(first10: str) -> int:
    """ISO 6346 check digit of owner code + category + 6-digit serial (reference version)."""
    values = [_LETTERS[c] if c.isalpha() else int(c) for c in first10]
    total = sum(v * 2**i for i, v in enumerate(values))
    return total % 11 % 10


def container(owner: str, serial: int) -> str:
    """A valid container number, e.g. ``container('MSCU', 123456)``."""
    body = f"{owner}{serial:06d}"
    return f"{body}{check_digit(body)}"


COLUMNS = [
    "container_number",
    "bl_number",
    "iso_type",
    "shipper_name",
    "consignee_name",
    "hs_code",
    "goods_description",
    "packages",
    "gross_weight_kg",
    "port_of_loading",
    "port_of_discharge",
    "origin_country",
    "filed_at",
]


def rows(
    n: int, *, owner: str = "MSCU", start: int = 100_000, tag: str = "T"
) -> list[dict[str, str]]:
    """``n`` manifest rows; every third is a reefer from a cocaine source port (a rule hit)."""
    out = []
    for i in range(n):
        risky = i % 3 == 0
        out.append(
            {
                "container_number": container(owner, start + i),
                "bl_number": f"{tag}BL{i:05d}",
                "iso_type": "45R1" if risky else "22G1",
                "shipper_name": f"EXPORTER {i % 7} S.A.",
                "consignee_name": f"IMPORTER {i % 5} LLC",
                "hs_code": "080390" if risky else "620342",
                "goods_description": "FRESH BANANAS" if risky else "COTTON TROUSERS",
                "packages": str(100 + i),
                "gross_weight_kg": str(20_000 + 10 * i),
                "port_of_loading": "ECGYE" if risky else "CNSHA",
                "port_of_discharge": "PKKHI",
                "origin_country": "EC" if risky else "CN",
                "filed_at": f"2026-11-{1 + i % 27:02d}T10:00:00Z",
            }
        )
    return out


def to_csv(records: list[dict[str, str]], *, broken_lines: int = 0) -> bytes:
    """CSV text of ``records``, plus ``broken_lines`` lines with too many fields at the end."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    for i in range(broken_lines):
        buffer.write(f"BROKEN{i},too,many,fields,{',' * 20}\n")
    return buffer.getvalue().encode()
