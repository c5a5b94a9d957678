"""The `lookout` command as a user runs it: a real process, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

HEADER = "container_number,bl_number,iso_type,port_of_loading,hs_code,gross_weight_kg,packages\n"


def lookout(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "LOOKOUT_DEBUG": ""}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
        check=False,
    )


def test_score_writes_outputs_and_summary(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        HEADER + "MSCU1234560,B1,45R1,ECGYE,080390,1000,10\n"
        "CSQU3054383,B2,22G1,CNSHA,847130,5000,100\n" + "short,row\n"
    )
    done = lookout(
        "score", str(manifest), "--out", str(tmp_path / "out"), "--capacity", "1", "--no-model"
    )
    assert done.returncode == 0, done.stderr
    assert "rows scored" in done.stdout
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["counts"]["rows_in"] == 3
    assert run["counts"]["rows_scored"] == 2
    assert run["counts"]["rows_quarantined"] == 1
    assert run["input"]["formats"][0]["format"] == "csv"
    assert pl.read_parquet(tmp_path / "out" / "scored.parquet").height == 2


def _bad_input(folder: Path, kind: str) -> Path:
    contents = {"empty": b"", "binary": b"\x00\x01" * 4000, "columns": b"a,b\n1,2\n"}
    if kind == "directory":
        return folder
    if kind == "missing":
        return folder / "missing.csv"
    path = folder / f"{kind}.csv"
    path.write_bytes(contents[kind])
    return path


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("directory", "is a directory"),
        ("missing", "no such file"),
        ("empty", "empty"),
        ("binary", "binary"),
        ("columns", "required manifest fields"),
    ],
)
def test_bad_input_is_a_clear_message_not_a_traceback(
    tmp_path: Path, kind: str, expected: str
) -> None:
    target = _bad_input(tmp_path, kind)
    done = lookout("score", str(target), "--out", str(tmp_path / "out"), "--no-model")
    assert done.returncode != 0
    assert expected in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_nothing_scoreable_exits_non_zero(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(HEADER + "short,row\n")
    done = lookout("score", str(manifest), "--out", str(tmp_path / "out"), "--no-model")
    assert done.returncode == 2
    assert "no row could be scored" in done.stderr
    assert "quarantine.parquet" in done.stderr


def test_bad_spec_points_at_file_line_col(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("columns:\n  consigne_name: X\n")
    manifest = tmp_path / "m.csv"
    manifest.write_text(HEADER)
    done = lookout(
        "score", str(manifest), "--spec", str(spec), "--out", str(tmp_path / "o"), "--no-model"
    )
    assert done.returncode == 2
    assert f"{spec}:2:3" in done.stderr
    assert "consignee_name" in done.stderr


def test_help_lists_every_command_group() -> None:
    done = lookout("--help")
    assert done.returncode == 0
    for command in ("score", "demo", "generate", "rules", "model", "history", "watchlist"):
        assert command in done.stdout


def test_a_failing_sub_command_exits_non_zero(tmp_path: Path) -> None:
    # The model group reports its own errors; the process must still fail.
    data = tmp_path / "unlabelled.csv"
    data.write_text(HEADER + "MSCU1234560,B1,45R1,ECGYE,080390,1000,10\n")
    done = lookout("model", "evaluate", "--model", str(tmp_path / "none"), "--data", str(data))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "error" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.parametrize("args", [("rules", "no-such-command"), ("score", "--no-such-option")])
def test_usage_errors_are_usage_messages(args: tuple[str, ...]) -> None:
    done = lookout(*args)
    assert done.returncode == 2
    assert "Usage:" in done.stderr and "No such" in done.stderr
    assert "internal error" not in done.stderr


_IMPORTS_OF = """
import sys
from api.cli import main
sys.argv = ["lookout", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print("MOUNTED" if "sqlalchemy" in sys.modules else "NOT MOUNTED", file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("args", "mounted"),
    [(("score", "--help"), False), (("--help",), True), (("rules", "--help"), True)],
)
def test_score_starts_without_the_command_groups(args: tuple[str, ...], mounted: bool) -> None:
    """`lookout score` does not import the API's database layer and the other command groups
    (start-up time on every run); the overall help and the groups still have them."""
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTS_OF, *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().endswith("MOUNTED" if mounted else "NOT MOUNTED")
    if args == ("--help",):
        assert "casenotes" in done.stdout


_FROZEN_AFTER = """
import gc, sys
from api.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("frozen", gc.get_freeze_count(), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [("score", "--help"), ("no-such-command",)])
def test_the_objects_left_are_frozen_when_the_command_ends(args: tuple[str, ...]) -> None:
    """The interpreter's final collection is spared the objects a command leaves (a quarter
    of a second at the end of every `lookout score`): they are frozen, on success and
    on error alike."""
    done = subprocess.run(
        [sys.executable, "-c", _FROZEN_AFTER, *args], capture_output=True, text=True, check=False
    )
    count = int(done.stderr.strip().rsplit("frozen", 1)[1])
    assert count > 10_000, done.stderr


_LIBRARIES_OF = """
import sys
from api.cli import main
sys.argv = ["lookout", *sys.argv[1:]]
try:
    main()
except SystemExit as done:
    if done.code:
        raise
print(" ".join(m for m in ("lightgbm", "pandas") if m in sys.modules) or "NONE", file=sys.stderr)
"""


_SCORE = [sys.executable, "-c", _LIBRARIES_OF, "score"]


def test_scoring_with_the_model_does_not_import_lightgbm(tmp_path: Path) -> None:
    """Scores and explanations come from the compiled forest (models.forest, models.contrib):
    a `lookout score` run imports neither LightGBM nor pandas (~0.5 s of every start)."""
    data = tmp_path / "day.csv"
    rows = [
        f"MSCU663987{i % 10},B{i},45R1,ECGYE,0803{i % 90 + 10:02d},{1000 + 37 * i},{1 + i % 7}\n"
        for i in range(60)
    ]
    data.write_text(HEADER + "".join(rows))
    out = tmp_path / "out"
    done = subprocess.run(
        [*_SCORE, str(data), "--out", str(out), "--history", str(tmp_path / "history")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().endswith("NONE"), done.stderr
    explained = pl.read_parquet(out / "scored.parquet").filter(
        pl.col("model_reasons").list.len() > 0
    )
    assert explained.height > 0  # the model explained some rows in this run


def test_hold_rows_defaults_to_the_engines_and_scores_the_same_held_or_not(tmp_path: Path) -> None:
    import inspect

    from api import cli
    from engine._parts import DEFAULT_HOLD_ROWS

    assert inspect.signature(cli.score).parameters["hold_rows"].default == DEFAULT_HOLD_ROWS
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        HEADER + "MSCU1234560,B1,45R1,ECGYE,080390,1000,10\n"
        "CSQU3054383,B2,22G1,CNSHA,847130,5000,100\n"
    )
    outs = {}
    for hold in ("0", "1000"):
        out = tmp_path / f"hold-{hold}"
        args = ("--chunk-rows", "1", "--hold-rows", hold, "--no-model")
        done = lookout("score", str(manifest), "--out", str(out), *args)
        assert done.returncode == 0, done.stderr
        outs[hold] = pl.read_parquet(out / "scored.parquet")
    assert outs["0"].equals(outs["1000"])
    refused = lookout("score", str(manifest), "--out", str(tmp_path / "x"), "--hold-rows", "-1")
    assert refused.returncode == 2
    assert "hold-rows" in refused.stderr


def test_an_output_folder_the_system_refuses_is_an_error_not_a_bug(tmp_path: Path) -> None:
    # --out under a file: the system refuses to make the folder. The user is told what was
    # refused, where, and what to do, in the run's language; no traceback, no "bug" hint.
    manifest = tmp_path / "m.csv"
    manifest.write_text(HEADER + "MSCU1234560,B1,45R1,ECGYE,080390,1000,10\n")
    (tmp_path / "a-file").write_text("not a folder")
    out = tmp_path / "a-file" / "out"
    for lang, said in (("en", "the system refused a read or write of"), ("ru", "система отказала")):
        done = lookout("--lang", lang, "score", str(manifest), "--out", str(out), "--no-model")
        assert done.returncode == 2, done.stderr
        text = " ".join(done.stderr.split())  # the console wraps long lines
        assert said in text and str(out) in text and "Not a directory" in text
        assert "LOOKOUT_DEBUG=1" in text
        assert "internal error" not in text and "внутренняя ошибка" not in text
        assert "Traceback" not in text


def test_a_rules_output_the_system_refuses_is_an_error_not_a_bug(tmp_path: Path) -> None:
    # `lookout rules schema --out` under a file: reported by the same handler as `score`,
    # with what was refused, where, and what to do; not "internal error", no traceback.
    (tmp_path / "a-file").write_text("not a folder")
    out = tmp_path / "a-file" / "schema.json"
    done = lookout("rules", "schema", "--out", str(out))
    text = " ".join(done.stderr.split())  # the console wraps long lines
    assert done.returncode == 2, done.stderr
    assert f"the system refused a read or write of {out}: Not a directory" in text
    assert "check that the folder exists" in text
    assert "internal error" not in text and "Traceback" not in text


def test_only_a_refused_file_or_folder_is_reported_as_the_systems_refusal() -> None:
    import errno

    from engine.errors import refused_file as _refused_file

    assert _refused_file(OSError(errno.ENOSPC, "No space left on device"))
    assert _refused_file(PermissionError(errno.EACCES, "Permission denied", "/out"))
    assert _refused_file(OSError(errno.EIO, "Input/output error"))
    # a refused connection or a timeout is not about files: an internal error as before
    assert not _refused_file(ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"))
    assert not _refused_file(TimeoutError("timed out"))
    assert not _refused_file(OSError("no errno, no file"))
