"""The terminal summary printed after a scoring run."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

from api.i18n import (
    _N,
    DRIFT_LABELS,
    LANE_LABELS,
    SELECTION_LABELS,
    current_locale,
    feature_words,
    format_number,
    format_percentage,
    gettext,
    localise,
    localise_note,
)
from engine.i18n import DEFAULT_LOCALE, localised_column
from engine.identity import short_id
from engine.record import RunRecord

_SEPARATOR_NAMES = {
    ",": _N("comma-separated"),
    "\t": _N("tab-separated"),
    ";": _N("semicolon-separated"),
    "|": _N("pipe-separated"),
}
_DETECTED_BY = (
    _N("delimited text"),
    _N("content"),
    _N("spec"),
    _N("default (one column)"),
    _N("named in the spec"),
    _N("IATA Cargo-IMP message identifier (FWB/FHL)"),
    _N("UN/EDIFACT interchange header (UNA/UNB)"),
    _N("DCSA eBL documents, one JSON object per line"),
    _N("a JSON array of documents"),
    _N("a JSON document"),
    _N("Arrow IPC file magic 'ARROW1'"),
    _N("Arrow IPC stream continuation marker"),
    _N("one JSON object per line"),
    _N("Parquet magic bytes 'PAR1'"),
)
"""How a file's format (and a CSV's dialect) was told, as ``engine.formats`` says it."""


def print_summary(console: Console, record: RunRecord, out: Path, *, top: int = 10) -> None:
    """Counts, lanes, selection, the top selected containers or air waybills with reasons,
    and the outputs."""
    counts = record.counts
    _ = gettext
    table = Table(title=_("Lookout run"), show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    for source in record.input.get("formats", []):
        how = str(source["detected_by"])
        if isinstance(source.get("csv"), dict):
            csv = source["csv"]
            sep = csv["separator"]
            sep = localise(_SEPARATOR_NAMES[sep]) if sep in _SEPARATOR_NAMES else repr(sep)
            quote = (
                _("quote {quote}").format(quote=csv["quote"]) if csv["quote"] else _("no quoting")
            )
            how = _("{how}; {sep}, {quote}; from the {by}").format(
                how=localise(how), sep=sep, quote=quote, by=localise(str(csv["detected_by"]))
            )
        else:
            how = localise(how) or how
        table.add_row(_("input"), f"{source['path']} — {source['format']} ({how})")
    table.add_row(_("records read"), format_number(record.rows_in))
    table.add_row(_("rows scored"), format_number(record.rows_scored))
    table.add_row(_("rows quarantined"), format_number(record.rows_quarantined))
    ports = counts.get("unknown_ports") or {}
    port_names = {
        "port_of_loading": _("port of loading"),
        "port_of_discharge": _("port of discharge"),
    }
    shares = [
        f"{label} {format_percentage(ports[name]['rate'])}"
        for name, label in port_names.items()
        if name in ports and ports[name]["rows_with_value"]
    ]
    if shares:
        common = ", ".join(f"{k} ×{v}" for k, v in ports.get("most_common_unknown", {}).items())
        most = " (" + _("most: {codes}").format(codes=common) + ")" if common else ""
        table.add_row(_("unknown ports"), "; ".join(shares) + most)
    lanes = counts.get("lanes", {})
    table.add_row(
        _("lanes red / yellow / green"),
        " / ".join(format_number(lanes.get(k, 0)) for k in ("red", "yellow", "green")),
    )
    by_reason = counts.get("selected_by_reason", {})
    table.add_row(
        _("selected for inspection"),
        f"{format_number(record.selected)} ("
        + ", ".join(
            f"{localise(SELECTION_LABELS[k]) if k in SELECTION_LABELS else k} {format_number(v)}"
            for k, v in sorted(by_reason.items())
        )
        + ")",
    )
    table.add_row(_("capacity"), str(record.parameters.get("capacity")))
    rules = record.stages.get("rules", {})
    if rules:
        table.add_row(
            _("rule pack"),
            _("{pack} ({rules} rules, {skipped} not applicable)").format(
                pack=short_id(str(rules.get("pack_hash", ""))),
                rules=len(rules.get("rules", {})),
                skipped=len(rules.get("skipped", [])),
            ),
        )
    model = record.stages.get("model", {})
    if model:
        table.add_row(_("model"), short_id(str(model.get("model_hash", ""))))
    drift = record.drift
    if drift:
        status = str(drift.get("status"))
        table.add_row(
            _("drift vs training"),
            _("{status}: max PSI {psi} ({feature}), score PSI {score}, unseen {unseen}").format(
                status=localise(DRIFT_LABELS[status]) if status in DRIFT_LABELS else status,
                psi=format_number(drift.get("max_psi", 0), 2),
                feature=feature_words(drift.get("max_psi_feature")) or "-",
                score=format_number(drift.get("score_psi", 0), 2),
                unseen=format_percentage(drift.get("unseen_share", 0)),
            ),
        )
    total = sum(record.timings.values())
    table.add_row(_("wall time"), _("{seconds} s").format(seconds=format_number(total, 2)))
    console.print(table)
    for alarm in drift.get("alarms", []):
        console.print("[yellow]" + _("drift warning:") + "[/yellow] " + localise_note(alarm))

    flagged_path = out / "flagged.csv"
    if flagged_path.is_file():
        flagged = (
            pl.read_csv(flagged_path, infer_schema=False)
            .filter(pl.col("selected") == "true")
            .head(top)
        )
        if flagged.height:
            title = _("Top {n} selected containers")
            if "awb_number" in flagged.columns:  # air waybills beside (or instead of) boxes
                air = flagged["awb_number"].is_not_null().sum()
                if air == flagged.height:
                    title = _("Top {n} selected air waybills")
                elif air:
                    title = _("Top {n} selected containers and air waybills")
                awb = pl.concat_str(
                    pl.lit("AWB "),
                    pl.col("awb_number"),
                    pl.lit(" "),
                    pl.col("house_awb_number").fill_null(""),
                ).str.strip_chars()
                flagged = flagged.with_columns(
                    container_number=pl.coalesce(pl.col("container_number"), awb)
                )
            flagged = _reasons_in_locale(flagged, record)
            hits = Table(title=title.format(n=flagged.height), title_justify="left")
            headings = {
                "container_number": _("container number"),
                "lane": _("lane"),
                "risk_score": _("risk score"),
                "selection_reason": _("selection reason"),
                "reasons": _("reasons"),
            }
            for col, style in (
                ("container_number", "bold"),
                ("lane", None),
                ("risk_score", None),
                ("selection_reason", None),
                ("reasons", None),
            ):
                if col in flagged.columns:
                    hits.add_column(
                        headings[col],
                        style=style,
                        overflow="fold",
                        max_width=90 if col == "reasons" else None,
                    )
            for row in flagged.iter_rows(named=True):  # display of at most `top` rows
                hits.add_row(
                    *[
                        _cell(row, c)
                        for c in (
                            "container_number",
                            "lane",
                            "risk_score",
                            "selection_reason",
                            "reasons",
                        )
                        if c in row
                    ]
                )
            console.print(hits)
    console.print(_("outputs:"))
    for name, path in sorted(record.outputs.items()):
        console.print(f"  {name:<11} {path}")
    for message in record.messages:
        console.print("[yellow]" + _("note:") + "[/yellow] " + localise_note(message))


def _reasons_in_locale(flagged: pl.DataFrame, record: RunRecord) -> pl.DataFrame:
    """The shown rows' reasons in the current locale (``rule_reasons_ru`` and
    ``model_reasons_ru`` of the scored output: flagged.csv holds the English ones)."""
    locale = current_locale()
    scored_path = record.outputs.get("scored")
    keys = ["source_file", "source_line"]
    if locale == DEFAULT_LOCALE or not scored_path or not set(keys) <= set(flagged.columns):
        return flagged
    path = Path(scored_path)
    scored = pl.scan_parquet(path if path.is_file() else path / "*.parquet")
    names = scored.collect_schema().names()
    columns = [
        localised_column(c, locale)
        for c in ("rule_reasons", "model_reasons")
        if localised_column(c, locale) in names
    ]
    if not columns:
        return flagged
    wanted = flagged.select(keys)
    reasons = (
        scored.select(
            pl.col("source_file").cast(pl.String),
            pl.col("source_line").cast(pl.String),
            pl.concat_list(columns).list.join(" | ").alias("reasons_in_locale"),
        )
        .join(wanted.lazy(), on=keys, how="semi")
        .collect()
    )
    return (
        flagged.join(reasons, on=keys, how="left", maintain_order="left")
        .with_columns(reasons=pl.coalesce("reasons_in_locale", "reasons"))
        .drop("reasons_in_locale")
    )


def _cell(row: dict[str, str | None], column: str) -> str:
    value = row.get(column) or ""
    if column == "risk_score" and value:
        return format_number(float(value), 1)
    if column == "reasons" and value:
        # The terminal shows the first three reasons, shortened; flagged.csv has them all.
        parts = [r if len(r) <= 70 else r[:67] + "…" for r in value.split(" | ")]
        more = gettext("(+{n} more)").format(n=len(parts) - 3)
        return "\n".join(parts[:3]) + (f"\n{more}" if len(parts) > 3 else "")
    if column == "lane":
        colour = {"red": "red", "yellow": "yellow", "green": "green"}.get(value, "white")
        label = localise(LANE_LABELS[value]) if value in LANE_LABELS else value
        return f"[{colour}]{label}[/{colour}]"
    if column == "selection_reason" and value in SELECTION_LABELS:
        return localise(SELECTION_LABELS[value]) or value
    return value
