"""``lookout spec …``: dataset spec tools. Mounted by the top-level CLI as ``lookout spec``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from api.i18n import gettext, localise_error
from engine.errors import LookoutError
from engine.spec import load_spec
from engine.spec_infer import SAMPLE_ROWS, infer_spec

app = typer.Typer(help="Dataset specs: propose one for an unknown file.", no_args_is_help=True)
err_console = Console(stderr=True)


@app.command()
def infer(
    file: Annotated[Path, typer.Argument(help="A CSV export whose columns are not canonical.")],
    out: Annotated[Path | None, typer.Option(help="Write the YAML here instead of stdout.")] = None,
    rows: Annotated[int, typer.Option(help="Rows sampled for content patterns.")] = SAMPLE_ROWS,
) -> None:
    """Propose a dataset spec from column names (fuzzy, synonyms) and contents (container
    numbers, UN/LOCODEs, HS codes, countries, dates, weights). Review it before use."""
    try:
        proposal = infer_spec(file, rows=rows)
        if out is not None:
            out.write_text(proposal.yaml, encoding="utf-8")
            load_spec(out)  # the proposal must be a spec Lookout accepts
            err_console.print(gettext("wrote {path}").format(path=out))
        else:
            typer.echo(proposal.yaml, nl=False)
    except LookoutError as err:
        err_console.print("[red]" + gettext("error:") + "[/red] " + localise_error(err))
        raise typer.Exit(code=2) from None


if __name__ == "__main__":
    app()
