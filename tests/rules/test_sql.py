"""The DuckDB translation (the benchmark's peer) agrees with the polars compiler."""

from __future__ import annotations

import duckdb
import polars as pl
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import load_pack_text
from rules._compile import hit_column
from rules._sql import pack_sql
from tests.rules.test_property import FIELDS, frame, rule_doc


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_duckdb_translation_matches_polars(data: st.DataObject) -> None:
    docs = [data.draw(rule_doc(i)) for i in range(data.draw(st.integers(1, 3)))]
    pack = load_pack_text(yaml.safe_dump_all(docs, sort_keys=False), fields=FIELDS)
    df = data.draw(frame())
    compiled = pack.compile(df.schema)
    expected = compiled.apply(df, keep_rule_columns=True)
    con = duckdb.connect()
    con.register("batch", df.to_arrow())
    got = pl.from_arrow(con.sql(pack_sql(compiled, keep_rule_columns=True)).to_arrow_table())
    assert isinstance(got, pl.DataFrame)
    for rule in compiled.rules:
        assert got[hit_column(rule.id)].to_list() == expected[hit_column(rule.id)].to_list()
    assert got["rule_hits"].to_list() == expected["rule_hits"].to_list()
    assert got["rule_shadow_hits"].to_list() == expected["rule_shadow_hits"].to_list()
    assert got["rule_score"].to_list() == expected["rule_score"].to_list()


def test_default_pack_sql_runs_on_an_empty_canonical_frame() -> None:
    from engine.schema import known_fields
    from rules import load_pack

    schema = {n: f.dtype for n, f in known_fields().items()}
    df = pl.DataFrame(schema=schema)
    compiled = load_pack().compile(df.schema)
    con = duckdb.connect()
    con.register("batch", df.to_arrow())
    out = con.sql(pack_sql(compiled)).to_arrow_table()
    assert out.num_rows == 0 and "rule_hits" in out.column_names
