"""engine/formats owns the readers and their registry; it never imports engine.ingest."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

FORMATS = Path(__file__).resolve().parents[2] / "engine" / "formats"


def test_no_formats_module_imports_ingest() -> None:
    for path in sorted(FORMATS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert not any(n == "engine.ingest" for n in names), f"{path.name} imports ingest"
            if isinstance(node, ast.ImportFrom) and node.module == "engine":
                assert "ingest" not in [a.name for a in node.names], path.name


def test_importing_every_reader_leaves_ingest_unloaded() -> None:
    code = (
        "import sys, engine.formats as f\n"
        "assert set(f.READERS) == "
        "{'csv', 'ndjson', 'parquet', 'ipc', 'dcsa', 'cuscar', 'cargoimp'}\n"
        "assert 'engine.ingest' not in sys.modules, sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=FORMATS.parents[1])


def test_the_reader_of_a_run_starts_without_numba() -> None:
    # `lookout score` starts reading before it builds the scorer; numba (~0.2 s to import)
    # is loaded by the first text scan or kernel, not by importing the readers.
    code = (
        "import sys, engine._reading, engine.formats\n"
        "assert 'numba' not in sys.modules, 'numba imported by the readers'\n"
        "from engine._scan import scan_records\n"
        "import numpy as np\n"
        "r = scan_records(np.frombuffer(b'a,b\\n1,2\\n', dtype=np.uint8))\n"
        "assert list(r.fields) == [2, 2] and 'numba' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=FORMATS.parents[1])
