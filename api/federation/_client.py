"""The HTTP client side of the federation commands: options, calls, errors.

``lookout queries`` and ``lookout casenotes`` talk to the local unit's API like any client,
so roles and audit apply to them as to everyone else.
"""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer

Url = Annotated[str, typer.Option("--url", envvar="LOOKOUT_URL", help="the local unit's API")]
ApiKey = Annotated[str, typer.Option("--api-key", envvar="LOOKOUT_API_KEY", help="API key")]
AsJson = Annotated[bool, typer.Option("--json", help="print the JSON response")]


def call(url: str, key: str, method: str, path: str, *, timeout: float = 60, **kwargs: Any) -> Any:
    """The decoded JSON of an API call; a problem document becomes an error exit that shows
    its title, detail, every diagnostic (file:line:col) and hint."""
    try:
        response = httpx.request(
            method,
            f"{url.rstrip('/')}{path}",
            timeout=timeout,
            headers={"Authorization": f"Bearer {key}"},
            **kwargs,
        )
    except httpx.HTTPError as err:
        raise fail(f"cannot reach {url}: {err}") from err
    if response.status_code >= 400:
        try:
            problem = response.json()
            text = f"{problem.get('title')}: {problem.get('detail')}"
            for diagnostic in problem.get("diagnostics") or []:
                text += "\n" + str(diagnostic.get("rendered") or diagnostic)
            if problem.get("hint"):
                text += f"\n  hint: {problem['hint']}"
        except ValueError:
            text = response.text[:500]
        raise fail(f"{response.status_code} {text}")
    return response.json()


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` to stderr; the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
