"""English and Russian: complete catalogues, the locale per reader, safe inspection form."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from api.db import utcnow
from api.i18n import LOCALE_DIR, negotiate
from api.tables import Batch
from tests._english import assert_no_english_left
from tests.web._site import NOTE, A, Browserless

ROOT = Path(__file__).resolve().parents[2]
UNRENDERED = re.compile(r"\{\{|\{%|\{[a-z_]+\}")


def _source_messages() -> set[str]:
    """Every message the code and templates mark for translation, extracted as pybabel does."""
    method_map = [
        *((f"{package}/**.py", "python") for package in ("api", "engine", "rules", "models")),
        ("api/web/templates/**.html", "jinja2"),
    ]
    options = {"api/web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_N": None, "N_": None}
    found = extract_from_dir(str(ROOT), method_map, options_map=options, keywords=keywords)
    return {m[2] if isinstance(m[2], str) else m[2][0] for m in found}


def test_every_message_has_a_russian_translation() -> None:
    with (LOCALE_DIR / "ru" / "LC_MESSAGES" / "lookout.po").open("rb") as handle:
        catalog = read_po(handle)
    translated = {m.id: m.string for m in catalog if m.id}
    missing = sorted(_source_messages() - set(translated))
    assert not missing, f"not in ru/lookout.po (re-extract and translate): {missing}"
    for msgid, msgstr in translated.items():
        assert msgstr and not any(m.fuzzy for m in catalog if m.id == msgid), msgid
        # Placeholders survive translation, and the Russian is Russian.
        fields = {f for _, f, _, _ in string.Formatter().parse(msgid) if f}
        assert fields == {f for _, f, _, _ in string.Formatter().parse(msgstr) if f}, msgid
        assert re.search("[а-яё]", msgstr.lower()) or msgid in ("B/L",), msgid


def test_accept_language_picks_a_locale() -> None:
    assert negotiate("ru-RU,ru;q=0.9,en;q=0.8") == "ru"
    assert negotiate("de-DE,en;q=0.5") == "en"
    assert negotiate("de, fr;q=0.5") is None
    assert negotiate(None) is None


def test_pages_in_russian_by_header_switch_and_cookie(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "viewer")])
    flagged = f"/web/batches/{site['batch_id']}/flagged"
    english = client.get(flagged).text
    assert "Flagged containers" in english and 'lang="en"' in english
    russian = client.get(flagged, headers={"Accept-Language": "ru"}).text
    assert "Отобранные контейнеры" in russian and '<html lang="ru">' in russian
    # The switch sets a cookie that outlives the header.
    client.get(flagged + "?lang=ru")
    again = client.get(flagged).text
    assert "Отобранные контейнеры" in again
    container = client.get("/web/containers/TEMU7622906").text
    assert "Сработавшие правила" in container and "Порт погрузки" in container
    client.get(flagged + "?lang=en")
    assert "Flagged containers" in client.get(flagged).text
    for page in (english, russian, container):
        assert "n/a" not in page and not UNRENDERED.search(page)


def test_inspection_form_preselects_nothing_and_refuses_an_empty_result(
    site: dict[str, Any],
) -> None:
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "analyst")])
    page = client.get("/web/containers/TEMU7622906")
    assert re.search(r'name="outcome"[^>]*checked', page.text) is None
    token = client.csrf("/web/containers/TEMU7622906")
    refused = client.post(
        "/web/inspections",
        data={
            "csrf_token": token,
            "batch_id": site["batch_id"],
            "container_number": "TEMU7622906",
        },
    )
    assert refused.status_code == 422
    assert "Choose the inspection result" in refused.text
    assert "No inspection recorded for this appearance yet." in refused.text


def test_manifest_labels_ports_sign_in_and_favicon(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    signin = client.get("/web/signin").text
    assert "ask your administrator for an API key" in signin and "lookout keys" not in signin
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg")
    client.sign_in(site["keys"][(A, "viewer")])
    page = client.get("/web/containers/TEMU7622906").text
    assert "carrier scac" not in page.lower() or "Carrier SCAC" in page
    assert re.search(r"[A-Z]{5} [^<,]+, [A-Z]{2}", page), "ports read as 'GEPTI Poti, GE'"


def test_every_page_reads_russian(site: dict[str, Any]) -> None:
    """The unit's own pages in Russian: their text translated, no English left of it,
    nothing unrendered; an error page too (the query and case-note pages, which need a
    federated unit, are read in Russian by the browser test)."""
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "analyst")])
    ru = {"Accept-Language": "ru"}
    # A later batch with every kind of drift warning, as the engine writes them.
    alarms = [
        "gross_weight_kg: PSI 8.01 (threshold 0.25)",
        "model score: PSI 0.31 (threshold 0.25)",
        "gross_weight_kg: 40% missing, 2% in training",
        "12.5% of rows have a category never seen in training, most in port_of_loading "
        "(10.0%) (threshold 5%)",
        "6.0% of rows have a category never seen in training (threshold 5%)",
    ]
    drifted = "20261129090000-bbbbbbbbbbbb"
    with site["state"].sessions() as session:
        session.add(
            Batch(
                id=drifted,
                unit_id=A,
                status="done",
                mode="inline",
                source_name="drifted.csv",
                source_bytes=100,
                seed=0,
                created_by="k",
                created_at=utcnow(),
                finished_at=utcnow(),
                rows_in=3,
                rows_scored=3,
                rows_quarantined=0,
                rows_flagged=0,
                rows_selected=0,
                run_record={"messages": [NOTE], "drift": _drift(alarms)},
            )
        )
        session.commit()
    pages = {
        "/web/batches": ("Партии", "Scored batches"),
        f"/web/batches/{site['batch_id']}": ("Статус:", "Selected for inspection"),
        "/web/rules": ("Правила и результаты досмотров", "Rules and inspection results"),
        "/web/model": ("Модель", "Model card"),
        f"/web/batches/{drifted}": ("вес брутто: PSI 8,01 (порог 0,25)", "threshold"),
    }
    for path, (russian, english) in pages.items():
        response = client.get(path, headers=ru)
        assert response.status_code == 200, path
        text = response.text
        assert russian in text and english not in text, path
        assert "n/a" not in text and not UNRENDERED.search(text), path
        assert_no_english_left(text, path)
    missing = client.get("/web/containers/NOSUCH0000", headers=ru)
    assert missing.status_code == 404 and "Не найдено" in missing.text


def _key(site: dict[str, Any], language: str | None, role: str = "analyst") -> str:
    from api.auth import create_key

    with site["state"].sessions() as session:
        _, plaintext = create_key(session, unit_id=A, role=role, language=language)  # type: ignore[arg-type]
        session.commit()
    return plaintext


def test_a_key_default_language_speaks_when_the_request_does_not_choose(
    any_site: dict[str, Any],
) -> None:
    """Precedence: ?lang=, the cookie (the page switch), the key's default language, the
    browser's Accept-Language, English — on pages and in API problem details, on SQLite
    and PostgreSQL."""
    russian_key, plain_key = _key(any_site, "ru"), _key(any_site, None)
    client = Browserless(any_site["app"])
    client.sign_in(russian_key)
    english_browser = {"Accept-Language": "en-GB,en;q=0.9"}
    # The key's default beats the browser's language.
    page = client.get("/web/batches", headers=english_browser).text
    assert '<html lang="ru">' in page and "Партии" in page
    note = client.get(f"/web/batches/{any_site['batch_id']}", headers=english_browser).text
    assert "уже есть в хранилище истории (строк: 3, добавлена" in note
    assert "already in the history store" not in note
    # An explicit choice beats the key's default, and is kept in the cookie.
    assert "Scored batches" in client.get("/web/batches?lang=en").text
    assert "Scored batches" in client.get("/web/batches").text
    # A key without a default: the browser decides.
    other = Browserless(any_site["app"])
    other.sign_in(plain_key)
    assert "Партии" in other.get("/web/batches", headers={"Accept-Language": "ru"}).text
    assert "Scored batches" in other.get("/web/batches", headers=english_browser).text
    # API problem details: the key's language, unless the request chooses.
    client = Browserless(any_site["app"])  # no language cookie
    rows = {"rows": [{"container_number": "MSCU1234565"}], "capacity": "zz"}
    bearer = {"Authorization": f"Bearer {russian_key}", **english_browser}
    problem = client.post("/v1/batches", json=rows, headers=bearer).json()
    assert problem["title"] == "Недопустимая пропускная способность", problem
    assert problem["detail"].startswith("пропускная способность 'zz' — не число вида '50'")
    assert "не число строк и не процент" in problem["detail"]
    chosen = Browserless(any_site["app"]).post("/v1/batches?lang=en", json=rows, headers=bearer)
    chosen = chosen.json()
    assert chosen["title"] == "Invalid capacity"
    plain = {"Authorization": f"Bearer {plain_key}"}
    missing = client.get("/v1/batches/NOSUCH", headers={**plain, "Accept-Language": "ru"})
    assert missing.status_code == 404 and missing.json()["title"] == "Партия не найдена"
    assert client.get("/v1/batches/NOSUCH", headers=plain).json()["title"] == "Batch not found"
    unknown = {"Authorization": "Bearer lk_x_y", "Accept-Language": "ru"}
    refused = client.get("/v1/batches", headers=unknown)
    assert refused.status_code == 401 and refused.json()["title"] == "Недействительный API-ключ"


def test_a_located_engine_error_reads_russian_with_its_location() -> None:
    """A LookoutError as an API problem: the words Russian, file:line and the location
    object as in English."""
    import json as _json

    from api.i18n import use_locale
    from api.problems import lookout_error_problem
    from engine.errors import IngestError, Location
    from engine.i18n import N_

    err = IngestError(
        N_("column {n} of the header has no name", n=3),
        location=Location("m.csv", 1, None, record=7, field="bl number"),
        hint=N_("name every column in the header line"),
    )
    with use_locale("ru"):
        body = _json.loads(bytes(lookout_error_problem(err).body))
    assert body["title"] == "Неверные входные данные (IngestError)"
    assert body["detail"] == "m.csv:1, запись 7, поле 'bl number': у столбца 3 заголовка нет имени"
    assert body["hint"] == "дайте имя каждому столбцу в строке заголовка"
    assert body["location"] == {
        "file": "m.csv",
        "line": 1,
        "column": None,
        "record": 7,
        "field": "bl number",
    }
    english = _json.loads(bytes(lookout_error_problem(err).body))
    assert english["detail"] == "m.csv:1, record 7, field 'bl number': " + err.message
    assert str(err).startswith(english["detail"])


def _drift(alarms: list[str]) -> dict[str, Any]:
    return {
        "status": "alarm",
        "rows": 3,
        "max_psi": 8.01,
        "max_psi_feature": "gross_weight_kg",
        "score_psi": 0.31,
        "score_above_reference_p90": 0.1,
        "unseen_share": 0.125,
        "max_missing_increase": 0.38,
        "alarms": alarms,
        "features": {},
    }
