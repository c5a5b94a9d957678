"""English and Russian: complete catalogues, the locale per reader, safe inspection form."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from api.i18n import LOCALE_DIR, negotiate
from tests.web._site import A, Browserless

ROOT = Path(__file__).resolve().parents[2]
UNRENDERED = re.compile(r"\{\{|\{%|\{[a-z_]+\}")


def _source_messages() -> set[str]:
    """Every message the code and templates mark for translation, extracted as pybabel does."""
    method_map = [("api/**.py", "python"), ("api/web/templates/**.html", "jinja2")]
    options = {"api/web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_N": None}
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
    pages = {
        "/web/batches": ("Партии", "Scored batches"),
        f"/web/batches/{site['batch_id']}": ("Статус:", "Selected for inspection"),
        "/web/rules": ("Правила и результаты досмотров", "Rules and inspection results"),
        "/web/model": ("Модель", "Model card"),
    }
    for path, (russian, english) in pages.items():
        response = client.get(path, headers=ru)
        assert response.status_code == 200, path
        text = response.text
        assert russian in text and english not in text, path
        assert "n/a" not in text and not UNRENDERED.search(text), path
    missing = client.get("/web/containers/NOSUCH0000", headers=ru)
    assert missing.status_code == 404 and "Не найдено" in missing.text
