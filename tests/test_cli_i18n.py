"""`lookout` in Russian and English: chosen by --lang, LOOKOUT_LANG or the locale; a real
process, located errors keep their file:line:col, the run summary and reasons in Russian."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli import take_lang
from api.i18n import locale_from_environment

HEADER = "container_number,bl_number,iso_type,port_of_loading,hs_code,gross_weight_kg,packages\n"
LOCALE_VARS = ("LOOKOUT_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")


def lookout(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in LOCALE_VARS}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        capture_output=True,
        text=True,
        env={**base, "COLUMNS": "200", "LOOKOUT_DEBUG": "", **env},
        timeout=600,
        check=False,
    )


def test_language_from_option_variable_and_locale() -> None:
    assert take_lang(["score", "x.csv", "--lang", "ru", "--out", "o"]) == (
        "ru",
        ["score", "x.csv", "--out", "o"],
    )
    assert take_lang(["--lang=en", "score", "--", "--lang", "ru"]) == (
        "en",
        ["score", "--", "--lang", "ru"],
    )
    assert take_lang(["score"]) == (None, ["score"])
    assert locale_from_environment({"LOOKOUT_LANG": "ru", "LANG": "en_US.UTF-8"}) == "ru"
    assert locale_from_environment({"LANG": "ru_RU.UTF-8"}) == "ru"
    assert locale_from_environment({"LC_ALL": "en_GB.UTF-8", "LANG": "ru_RU.UTF-8"}) == "en"
    assert locale_from_environment({"LC_MESSAGES": "ru_UA", "LANG": "C.UTF-8"}) == "ru"
    assert locale_from_environment({"LANG": "de_DE.UTF-8"}) == "en"
    assert locale_from_environment({}) == "en"


@pytest.mark.parametrize(
    ("how", "env"),
    [
        (("--lang", "ru"), {}),
        ((), {"LOOKOUT_LANG": "ru"}),
        ((), {"LANG": "ru_RU.UTF-8"}),
    ],
)
def test_located_error_in_russian_keeps_its_location(
    tmp_path: Path, how: tuple[str, ...], env: dict[str, str]
) -> None:
    """The words around file:line are Russian, the location is as in English."""
    manifest = tmp_path / "header-cr.csv"
    manifest.write_bytes(b"container_number,bl\rnumber\nMSCU1234565,X\n")
    done = lookout("score", str(manifest), "--out", str(tmp_path / "o"), "--no-model", *how, **env)
    assert done.returncode == 2, done.stderr
    text = " ".join(done.stderr.split())
    assert f"ошибка: {manifest}:1, поле 'bl number': столбец 2 заголовка" in text
    assert "содержит возврат каретки (CR): разрыв строки внутри имени столбца" in text
    assert "подсказка: выгрузите файл заново так, чтобы заголовок был одной строкой" in text
    assert "Traceback" not in done.stderr
    assert not re.search(r"\b(error|hint|column|header|field)\b", text.replace(str(manifest), ""))


def test_spec_error_in_russian_points_at_line_and_column(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(HEADER + "MSCU1234560,B1,45R1,ECGYE,080390,1000,10\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text("kind: dataset_spec\ncolumns:\n  consigne_name: X\n")
    out = str(tmp_path / "o")
    done = lookout(
        "--lang", "ru", "score", str(manifest), "--spec", str(spec), "--out", out, "--no-model"
    )
    assert done.returncode == 2
    text = " ".join(done.stderr.split())
    assert f"ошибка: {spec}:3:3: неизвестное каноническое поле 'consigne_name'" in text
    assert "подсказка: возможно, имелось в виду 'consignee_name'" in text
    assert "прочие столбцы объявите в разделе 'extra:'" in text
    # English by default, --lang en over LOOKOUT_LANG, and the same location.
    english = lookout(
        "score", str(manifest), "--spec", str(spec), "--no-model", "--lang", "en", LOOKOUT_LANG="ru"
    )
    assert f"error: {spec}:3:3: unknown canonical field 'consigne_name'" in english.stderr
    assert "hint: did you mean 'consignee_name'" in " ".join(english.stderr.split())


def test_unknown_language_is_a_usage_error() -> None:
    done = lookout("--lang", "de", "score", "x.csv")
    assert done.returncode == 2
    assert "unknown language 'de' for --lang; use en or ru" in done.stderr


def test_score_summary_help_and_reasons_in_russian(tmp_path: Path) -> None:
    """A real run in Russian: the summary's lines, the lanes, the reasons of the selected
    rows (rule_reasons_ru), the history note; the help text too."""
    manifest = tmp_path / "m.csv"
    parties = ",shipper_name,consignee_name,filed_at\n"
    rows = [
        "MSCU1234560,B1,45R1,ECGYE,080390,1000,10,ACME FRUIT SA,TASH TRADE LLC,2026-11-20",
        "CSQU3054383,B2,22G1,CNSHA,847130,5000,100,SHENZHEN ELEC,TASH TRADE LLC,2026-11-20",
        "TGHU1234567,B3,22G1,CNSHA,847130,0,1482,SHENZHEN ELEC,SAMARKAND LLC,2026-11-20",
    ]
    manifest.write_text(HEADER.rstrip("\n") + parties + "\n".join(rows) + "\n")
    done = lookout(
        "score",
        str(manifest),
        "--out",
        str(tmp_path / "o"),
        "--capacity",
        "2",
        "--history",
        str(tmp_path / "history"),
        LOOKOUT_LANG="ru",
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for line in (
        "Прогон Lookout",
        "прочитано записей",
        "оценено строк",
        "коридоры красный / жёлтый / зелёный",
        "отобрано для досмотра",
        "пакет правил",
        "результаты:",
        "Первые 2 отобранных контейнеров",
        "номер контейнера",
        "причины",
        "примечание: история слишком коротка для признаков участников: 3 из 3 строк",
    ):
        assert line in out, line
    for english in ("rows scored", "selected for inspection", "outputs:", "note:", "rules, "):
        assert english not in out, english
    # The reasons column holds the Russian reasons, none of the English ones.
    table = out[out.index("Первые 2") :]
    cells = [
        row.split("│")[5].strip()
        for row in table.splitlines()
        if row.count("│") >= 6 and row.split("│")[5].strip()
    ]
    shown = " ".join(cells)  # a reason may wrap over lines of the cell
    assert re.search("[а-яё]", shown), shown
    for english in ("kg per package", "reefer", "loaded at", "check digit", "days in transit"):
        assert english not in shown, (english, shown)
    helped = lookout("score", "--help", "--lang", "ru")
    assert "Папка для результатов." in helped.stdout
    assert "Folder for the outputs." not in helped.stdout


def test_watchlist_screen_explains_the_match_in_russian(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "container_number,bl_number,shipper_name,consignee_name\n"
        "MSCU1234565,B1,DAEDONG CREDT BANK LLC,ACME\n"
    )
    russian = lookout("--lang", "ru", "watchlist", "screen", str(manifest))
    assert russian.returncode == 0, russian.stderr
    text = " ".join(russian.stdout.replace("│", " ").split())
    assert "проверено строк: 1; совпадений со списками: 1" in text
    assert "грузоотправитель" in text and "совпали: DAEDONG" in text
    assert "(правок: 1)" in text and "matched" not in text and "edit)" not in text
    english = lookout("watchlist", "screen", str(manifest))
    assert "matched DAEDONG" in " ".join(english.stdout.replace("│", " ").split())


def test_missing_input_reads_russian(tmp_path: Path) -> None:
    pattern = str(tmp_path / "nope" / "*.csv")
    done = lookout("--lang", "ru", "score", pattern, "--no-model", "--out", str(tmp_path / "o"))
    assert done.returncode == 2
    text = " ".join(done.stderr.split())
    assert f"ошибка: нет файлов по шаблону '{pattern}'" in text
    assert "подсказка: проверьте шаблон и папку" in text
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    done = lookout("--lang", "ru", "score", str(empty), "--no-model", "--out", str(tmp_path / "o"))
    assert f"ошибка: {empty}: файл пуст" in " ".join(done.stderr.split())
