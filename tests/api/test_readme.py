"""The walkthrough of api/README.md, run as written against the real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.conftest import REPO, LiveServer

pytestmark = pytest.mark.xdist_group("api")

README = REPO / "api" / "README.md"


def walkthrough_script() -> str:
    """Every ```bash block of the Walkthrough section, in order (``bash server`` blocks and
    other languages are illustrations, not run)."""
    text = README.read_text()
    section = text.split("## Walkthrough", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```bash\n(.*?)^```", section, flags=re.S | re.M)
    assert len(blocks) >= 8, "the walkthrough lost its examples"
    return "set -euo pipefail\n" + "\n".join(blocks)


def test_readme_walkthrough_runs(server: LiveServer, tmp_path: Path) -> None:
    env = {
        **os.environ,
        **server.env,
        "LOOKOUT_URL": server.url,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
    }
    result = subprocess.run(
        ["bash", "-c", walkthrough_script()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    out = result.stdout
    assert '"status":"done"' in out  # the upload answered with the scored batch
    assert "MSCU1234566 " in out and "reefer" in out  # selected, with its rule reason
    assert "1 appearance(s)" in out
    assert re.search(
        r"drift over 30 days: \d+ batch\(es\), 0 with warnings; latest too_few_rows", out
    )
    assert '"outcome":"seizure"' in out
    assert "'rows_scored': 1" in out
    assert "required manifest fields are missing: bl_number" in out
    assert "cash.yaml:11:" in out and "unknown field 'freight_paymnt'" in out
