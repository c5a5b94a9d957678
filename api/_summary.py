"""The terminal summary printed after a scoring run."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

from engine.identity import short_id
from engine.record import RunRecord

_SEPARATOR_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}


def print_summary(console: Console, record: RunRecord, out: Path, *, top: int = 10) -> None:
    """Counts, lanes, selection, the top selected containers or air waybills with reasons,
    and the outputs."""
    counts = record.counts
    table = Table(title="Lookout run", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    for source in record.input.get("formats", []):
        how = str(source["detected_by"])
        if isinstance(source.get("csv"), dict):
            csv = source["csv"]
            sep = _SEPARATOR_NAMES.get(csv["separator"], repr(csv["separator"]))
            quote = f"quote {csv['quote']}" if csv["quote"] else "no quoting"
            how += f"; {sep}-separated, {quote}; from the {csv['detected_by']}"
        table.add_row("input", f"{source['path']} — {source['format']} ({how})")
    table.add_row("records read", f"{record.rows_in:,}")
    table.add_row("rows scored", f"{record.rows_scored:,}")
    table.add_row("rows quarantined", f"{record.rows_quarantined:,}")
    ports = counts.get("unknown_ports") or {}
    shares = [
        f"{name.replace('_', ' ')} {ports[name]['rate']:.1%}"
        for name in ("port_of_loading", "port_of_discharge")
        if name in ports and ports[name]["rows_with_value"]
    ]
    if shares:
        common = ", ".join(f"{k} ×{v}" for k, v in ports.get("most_common_unknown", {}).items())
        table.add_row("unknown ports", "; ".join(shares) + (f" (most: {common})" if common else ""))
    lanes = counts.get("lanes", {})
    table.add_row(
        "lanes red / yellow / green",
        " / ".join(f"{lanes.get(k, 0):,}" for k in ("red", "yellow", "green")),
    )
    by_reason = counts.get("selected_by_reason", {})
    table.add_row(
        "selected for inspection",
        f"{record.selected:,} ("
        + ", ".join(f"{k} {v}" for k, v in sorted(by_reason.items()))
        + ")",
    )
    table.add_row("capacity", str(record.parameters.get("capacity")))
    rules = record.stages.get("rules", {})
    if rules:
        table.add_row(
            "rule pack",
            f"{short_id(str(rules.get('pack_hash', '')))} ({len(rules.get('rules', {}))} rules, "
            f"{len(rules.get('skipped', []))} not applicable)",
        )
    model = record.stages.get("model", {})
    if model:
        table.add_row("model", short_id(str(model.get("model_hash", ""))))
    drift = record.drift
    if drift:
        table.add_row(
            "drift vs training",
            f"{drift.get('status')}: max PSI {drift.get('max_psi', 0):.2f} "
            f"({drift.get('max_psi_feature') or '-'}), score PSI {drift.get('score_psi', 0):.2f}, "
            f"unseen {drift.get('unseen_share', 0):.1%}",
        )
    total = sum(record.timings.values())
    table.add_row("wall time", f"{total:.2f} s")
    console.print(table)
    for alarm in drift.get("alarms", []):
        console.print(f"[yellow]drift warning:[/yellow] {alarm}")

    flagged_path = out / "flagged.csv"
    if flagged_path.is_file():
        flagged = (
            pl.read_csv(flagged_path, infer_schema=False)
            .filter(pl.col("selected") == "true")
            .head(top)
        )
        if flagged.height:
            what = "containers"
            if "awb_number" in flagged.columns:  # air waybills beside (or instead of) boxes
                air = flagged["awb_number"].is_not_null().sum()
                what = "air waybills" if air == flagged.height else "containers and air waybills"
                what = what if air else "containers"
                awb = pl.concat_str(
                    pl.lit("AWB "),
                    pl.col("awb_number"),
                    pl.lit(" "),
                    pl.col("house_awb_number").fill_null(""),
                ).str.strip_chars()
                flagged = flagged.with_columns(
                    container_number=pl.coalesce(pl.col("container_number"), awb)
                )
            hits = Table(title=f"Top {flagged.height} selected {what}", title_justify="left")
            for col, style in (
                ("container_number", "bold"),
                ("lane", None),
                ("risk_score", None),
                ("selection_reason", None),
                ("reasons", None),
            ):
                if col in flagged.columns:
                    hits.add_column(
                        col.replace("_", " "),
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
    console.print("outputs:")
    for name, path in sorted(record.outputs.items()):
        console.print(f"  {name:<11} {path}")
    for message in record.messages:
        console.print(f"[yellow]note:[/yellow] {message}")


def _cell(row: dict[str, str | None], column: str) -> str:
    value = row.get(column) or ""
    if column == "risk_score" and value:
        return f"{float(value):.1f}"
    if column == "reasons" and value:
        # The terminal shows the first three reasons, shortened; flagged.csv has them all.
        parts = [r if len(r) <= 70 else r[:67] + "…" for r in value.split(" | ")]
        return "\n".join(parts[:3]) + (f"\n(+{len(parts) - 3} more)" if len(parts) > 3 else "")
    if column == "lane":
        colour = {"red": "red", "yellow": "yellow", "green": "green"}.get(value, "white")
        return f"[{colour}]{value}[/{colour}]"
    return value
