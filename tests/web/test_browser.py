"""End-to-end in Debian's headless Chromium against two real Lookout servers (UZ and KZ).

An analyst at UZ signs in with an API key, uploads a generated manifest, opens a flagged
container, records an inspection and opens an urgent query to KZ; an analyst at KZ (in a
browser with JavaScript switched off, so the plain forms are what is tested) sees it arrive
in the inbox, acknowledges and answers; UZ sees the answer and closes the query. The officer
flow runs again in a Russian browser. No page an officer reads may show "n/a", a field's
internal name or an unrendered placeholder. Every page is saved to tests/_artifacts/screenshots/
(docs/screenshots/ with LOOKOUT_UPDATE_SCREENSHOTS=1), the Russian ones as ``*-ru.png``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests._english import assert_no_english_left
from tests.federation._live import LiveUnit, free_port, introduce

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

REPO = Path(__file__).resolve().parents[2]
# Screenshots go to tests/_artifacts/ (ignored by git) on every run, and refresh the ones
# the README shows only when asked: LOOKOUT_UPDATE_SCREENSHOTS=1 make test.
SHOTS = (
    REPO / "docs" / "screenshots"
    if os.environ.get("LOOKOUT_UPDATE_SCREENSHOTS")
    else REPO / "tests" / "_artifacts" / "screenshots"
)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UZ, KZ = "UZ-TAS-PCU", "KZ-ALA-PCU"
BROKEN_PACK = b"""kind: rule
id: heavy-textiles
title: Heavy textiles
status: active
severity: hgh
weight: 20
match:
  heavy: {gross_weight_kg|gt: 30000}
  condition: heavy and missing
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, LiveUnit], Path]]:
    """UZ and KZ servers (each trusting the other, each with an analyst key) and a small
    generated manifest, made while the servers boot."""
    from engine.generate import generate

    root = tmp_path_factory.mktemp("web-units")
    units = {u: LiveUnit(u, root / u.lower(), free_port()) for u in (UZ, KZ)}
    # Uploads above 1 kB are scored in the background, so the page shows (and polls) progress.
    units[UZ].extra_env["LOOKOUT_INLINE_MAX_BYTES"] = "1000"
    # UZ builds its scorer while booting, so the upload does not wait for it (KZ scores only a
    # small batch, for the case-note backtest).
    units[UZ].extra_env["LOOKOUT_WARM_SCORER"] = "true"
    introduce(units, root, name=lambda unit_id: f"{unit_id[:2]} Port Control Unit")
    for unit in units.values():
        unit.key = unit.create_key("analyst")
    # Both servers boot at once, and the manifest is generated meanwhile (importing the
    # engine is most of a server's start-up).
    with ThreadPoolExecutor(max_workers=2) as pool:
        try:
            starting = [pool.submit(unit.start) for unit in units.values()]
            generated = generate(days=1, rows_per_day=60, seed=11, out_dir=root / "gen")
            for future in starting:
                future.result()
            yield units, generated.manifests[0]
        finally:
            for unit in units.values():
                unit.stop()


@pytest.fixture(scope="module")
def units(world: tuple[dict[str, LiveUnit], Path]) -> dict[str, LiveUnit]:
    """The running units."""
    return world[0]


@pytest.fixture(scope="module")
def manifest(world: tuple[dict[str, LiveUnit], Path]) -> Path:
    """The generated manifest (CSV, 60 container rows)."""
    return world[1]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright."""
    if not CHROMIUM.exists():
        raise RuntimeError("the browser tests need /usr/bin/chromium (make chromium installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def shot(page: object, name: str) -> None:
    """Save a full-page screenshot for docs/screenshots (looked at when the pages change)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


# What an officer must never read: a placeholder left by a template or a reason, "n/a", or a
# field's internal name (rule_reasons, consignee_first_seen_days, ...).
UNRENDERED = re.compile(r"\{\{|\{%|\{[a-z_]+\}|\bn/a\b")


def _raw_names() -> set[str]:
    from engine.schema import known_fields
    from models.phrases import PHRASES

    return {n for n in (*known_fields(), *PHRASES) if "_" in n}


RAW_NAMES = _raw_names()


def readable(page: object) -> str:
    """The page's text, after checking that it reads as text for an officer."""
    text = page.locator("main").inner_text()  # type: ignore[attr-defined]
    found = UNRENDERED.search(text)
    assert found is None, (
        f"unrendered or n/a on {page.url}: …{text[max(found.start() - 60, 0) : found.end() + 60]}…"
    )  # type: ignore[attr-defined]
    raw = RAW_NAMES & set(re.findall(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b", text))
    assert not raw, f"raw field names on {page.url}: {sorted(raw)}"  # type: ignore[attr-defined]
    if page.locator("html").get_attribute("lang") == "ru":  # type: ignore[attr-defined]
        # No English left of the engine-made texts (notes, drift, match explanations).
        assert_no_english_left(str(text), page.url)  # type: ignore[attr-defined]
    return str(text)


def sign_in(
    page: object,
    unit: LiveUnit,
    target: str,
    *,
    key_label: str = "API key",
    button: str = "Sign in",
) -> None:
    """Open ``target``, get sent to the sign-in form, sign in with the unit's key."""
    page.goto(unit.url + target)  # type: ignore[attr-defined]
    assert "/web/signin" in page.url  # type: ignore[attr-defined]
    page.get_by_label(key_label).fill(unit.key)  # type: ignore[attr-defined]
    page.get_by_role("button", name=button).click()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(re.escape(unit.url + target.split("?")[0])))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Words:
    """What the officer flow reads and clicks on, in one language."""

    container: str
    seizure: str
    finding_type: str
    notes: str
    record: str
    recorded: str
    open_query: str
    question: str


EN = Words(
    "Container",
    "seizure",
    "Finding type",
    "Notes",
    "Record result",
    "Inspection result recorded",
    "Open urgent query",
    "Question",
)
RU = Words(
    "Контейнер",
    "изъятие",
    "Вид находки",
    "Примечания",
    "Записать результат",
    "Результат досмотра записан",
    "Направить срочный запрос",
    "Вопрос",
)


def open_first_flagged(page: object, words: Words) -> str:
    """From a flagged list, open the first container's page; return its number."""
    from playwright.sync_api import expect

    first = page.locator("table.flagged tbody tr").first.locator("td:nth-child(3) a")  # type: ignore[attr-defined]
    container = str(first.inner_text().strip())
    first.click()
    page.wait_for_url(re.compile(rf"/web/containers/{container}"))  # type: ignore[attr-defined]
    expect(page.get_by_role("heading", name=f"{words.container} {container}")).to_be_visible()  # type: ignore[attr-defined]
    return container


def record_seizure(page: object, words: Words, notes: str) -> None:
    """On a container page, record a drugs seizure with ``notes``; see it listed."""
    from playwright.sync_api import expect

    page.get_by_label(words.seizure).check()  # type: ignore[attr-defined]
    page.get_by_label(words.finding_type).select_option("drugs")  # type: ignore[attr-defined]
    page.get_by_label(words.notes).fill(notes)  # type: ignore[attr-defined]
    page.get_by_role("button", name=words.record).click()  # type: ignore[attr-defined]
    expect(page.get_by_role("status")).to_contain_text(words.recorded)  # type: ignore[attr-defined]
    expect(page.locator("#inspections table")).to_contain_text(words.seizure)  # type: ignore[attr-defined]


def open_query_form(page: object, words: Words, container: str) -> None:
    """From a container page, open the urgent-query form pre-filled with the container."""
    from playwright.sync_api import expect

    page.get_by_role("link", name=words.open_query).click()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"/web/queries/new"))  # type: ignore[attr-defined]
    expect(page.get_by_label(words.question)).to_contain_text(container)  # type: ignore[attr-defined]


def wait_for_query(page: object, query_id: str) -> None:
    """Reload the inbox until the query has arrived (up to 30 s)."""
    for _ in range(60):
        if page.locator(f"a[href='/web/queries/{query_id}']").count():  # type: ignore[attr-defined]
            break
        page.wait_for_timeout(500)  # type: ignore[attr-defined]
        page.reload()  # type: ignore[attr-defined]


def open_until(page: object, url: str, selector: str, text: str) -> None:
    """Open ``url`` until the element ``selector`` holds ``text`` (up to 30 s)."""
    for _ in range(60):
        page.goto(url)  # type: ignore[attr-defined]
        if text in page.locator(selector).inner_text():  # type: ignore[attr-defined]
            break
        page.wait_for_timeout(500)  # type: ignore[attr-defined]


def test_analyst_flow_across_two_units(
    units: dict[str, LiveUnit], manifest: Path, browser: object
) -> None:
    from playwright.sync_api import expect

    uz, kz = units[UZ], units[KZ]
    uz_context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = uz_context.new_page()
    page.set_default_timeout(60_000)

    # A wrong key is refused with a message; the right key signs in.
    page.goto(uz.url + "/web/batches")
    assert "/web/signin" in page.url
    page.get_by_label("API key").fill("lk_nothere_wrongsecret")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown or revoked")
    readable(page)
    shot(page, "signin")
    page.get_by_label("API key").fill(uz.key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(uz.url + "/web/batches")
    expect(page.locator("header")).to_contain_text(UZ)

    # A file that is not a manifest: the error is shown beside the form (an htmx 422 swap).
    page.get_by_label("Manifest file").set_input_files(
        files=[{"name": "notes.csv", "mimeType": "text/csv", "buffer": b"remark\nhello\n"}]
    )
    page.get_by_role("button", name="Upload and score").click()
    expect(page.get_by_role("alert")).to_contain_text("Invalid input")
    assert page.url == uz.url + "/web/batches"
    expect(page.locator("table")).to_contain_text("failed")  # and listed as failed
    shot(page, "upload-error")

    # Upload the manifest; land on the batch page once it is scored.
    page.get_by_label("Manifest file").set_input_files(str(manifest))
    page.get_by_label("Inspection capacity").fill("10%")
    page.get_by_role("button", name="Upload and score").click()
    page.wait_for_url(re.compile(r"/web/batches/[0-9A-Za-z-]+$"), timeout=180_000)
    # Scored in the background: the status box polls itself (htmx) until the batch is done.
    expect(page.locator("#batch-status")).to_contain_text(
        re.compile("queued|running|done"), timeout=30_000
    )
    expect(page.locator("#batch-status")).to_contain_text("done", timeout=180_000)
    expect(page.locator("#batch-status")).to_contain_text("background")
    expect(page.locator("#batch-status")).to_contain_text("60")
    readable(page)
    shot(page, "batch")
    batch_id = page.url.rsplit("/", 1)[1]

    page.goto(uz.url + "/web/batches")
    expect(page.locator("table")).to_contain_text(manifest.name)
    readable(page)
    shot(page, "batches")

    # The flagged list: lanes, scores, reasons; filter on the red lane; CSV export.
    page.goto(f"{uz.url}/web/batches/{batch_id}/flagged")
    rows = page.locator("table.flagged tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 3
    all_lanes = [
        t.strip() for t in page.locator("table.flagged tbody tr td:first-child").all_inner_texts()
    ]
    assert set(all_lanes) <= {"Red", "Yellow", "Green"}, all_lanes
    readable(page)
    shot(page, "flagged")
    top_lane = all_lanes[0]  # highest risk first
    page.get_by_label(top_lane, exact=True).check()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(rf"lane={top_lane.lower()}"))
    lanes = page.locator("table.flagged tbody tr td:first-child").all_inner_texts()
    assert lanes and all(lane.strip() == top_lane for lane in lanes), lanes
    assert len(lanes) == all_lanes.count(top_lane)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    csv_text = Path(download.value.path()).read_text()
    assert csv_text.startswith("container_number,bl_number,lane,risk_score")
    assert len(csv_text.strip().splitlines()) == len(lanes) + 1

    # A flagged container: reasons, contributions chart, history; record an inspection.
    container = open_first_flagged(page, EN)
    expect(page.locator("#rules-h")).to_be_visible()
    readable(page)
    shot(page, "container")
    record_seizure(page, EN, "cocaine in the reefer's evaporator housing")
    expect(page.locator("#inspections table")).to_contain_text("drugs")
    readable(page)
    shot(page, "inspection")

    # Open an urgent query to KZ, pre-filled from this container.
    open_query_form(page, EN, container)
    page.get_by_role("checkbox", name=re.compile(f"^{KZ} ")).check()
    readable(page)
    shot(page, "query-new")
    page.get_by_role("button", name="Send query").click()
    page.wait_for_url(re.compile(r"/web/queries/[^/?]+$"))
    query_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("body")).to_contain_text(container)

    # KZ, without JavaScript: the query arrives in the inbox; acknowledge and answer.
    kz_context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1280, "height": 900}, java_script_enabled=False
    )
    kz_page = kz_context.new_page()
    kz_page.set_default_timeout(60_000)
    sign_in(kz_page, kz, "/web/queries?box=inbox")
    wait_for_query(kz_page, query_id)
    inbox_row = kz_page.locator("table.queries tbody tr", has_text=query_id)
    expect(inbox_row).to_contain_text(UZ)
    expect(inbox_row).to_contain_text("urgent")
    expect(inbox_row.locator("time.countdown")).to_contain_text("due in")
    readable(kz_page)
    shot(kz_page, "inbox")
    kz_page.get_by_role("link", name=query_id).click()
    expect(kz_page.locator("body")).to_contain_text(container)
    kz_page.get_by_role("button", name="Acknowledge").click()
    expect(kz_page.locator(".card").first).to_contain_text("acknowledged")
    kz_page.get_by_label("Answer").fill("Shipper is known to us: two seizures at Almaty in 2025.")
    kz_page.get_by_role("button", name="Send answer").click()
    expect(kz_page.locator("ol.thread")).to_contain_text("two seizures at Almaty")
    readable(kz_page)
    shot(kz_page, "query-inbox")

    # UZ sees the answer arrive and closes the query.
    open_until(page, f"{uz.url}/web/queries/{query_id}", "ol.thread", "two seizures at Almaty")
    expect(page.locator("ol.thread")).to_contain_text("two seizures at Almaty")
    readable(page)
    shot(page, "query-outbox")
    page.get_by_role("button", name="Close query").click()
    expect(page.locator(".card").first).to_contain_text("closed")
    page.goto(f"{uz.url}/web/queries?box=outbox")
    expect(page.locator("table.queries")).to_contain_text(query_id)
    shot(page, "outbox")

    # Rules: hit counts charted; a broken pack shows file:line:col diagnostics.
    page.goto(f"{uz.url}/web/rules")
    expect(page.locator("svg.chart").first).to_be_visible()
    page.get_by_label("Rule pack files (.yaml)").set_input_files(
        files=[{"name": "textiles.yaml", "mimeType": "text/yaml", "buffer": BROKEN_PACK}]
    )
    page.get_by_role("button", name="Check pack").click()
    expect(page.locator("#validation")).to_contain_text("Invalid")
    expect(page.locator("table.diagnostics")).to_contain_text("textiles.yaml:")
    assert re.search(r"textiles\.yaml:\d+:\d+", page.locator("table.diagnostics").inner_text())
    shot(page, "rules")

    page.goto(f"{uz.url}/web/model")
    expect(page.get_by_role("heading", name="Model card")).to_be_visible()
    readable(page)
    shot(page, "model")

    # Signing out ends the session: pages send you back to the sign-in form.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/web/signin"))
    page.goto(f"{uz.url}/web/batches")
    assert "/web/signin" in page.url
    uz_context.close()
    kz_context.close()


def test_officer_flow_in_russian(
    units: dict[str, LiveUnit], manifest: Path, browser: object
) -> None:
    """The officer flow of the test above in a Russian browser (Accept-Language: ru): every
    page in Russian, reasons included, nothing unrendered; each page saved as ``*-ru.png``."""
    from playwright.sync_api import expect

    uz, kz = units[UZ], units[KZ]
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1280, "height": 900}, locale="ru-RU"
    )
    page = context.new_page()
    page.set_default_timeout(60_000)

    page.goto(uz.url + "/web/batches")
    assert "/web/signin" in page.url
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    readable(page)
    shot(page, "signin-ru")
    page.get_by_label("API-ключ").fill(uz.key)
    page.get_by_role("button", name="Вход").click()
    page.wait_for_url(uz.url + "/web/batches")

    page.get_by_label("Файл манифеста").set_input_files(str(manifest))
    page.get_by_label("Возможности досмотра").fill("10%")
    readable(page)
    page.get_by_role("button", name="Загрузить и оценить").click()
    page.wait_for_url(re.compile(r"/web/batches/[0-9A-Za-z-]+$"), timeout=180_000)
    expect(page.locator("#batch-status")).to_contain_text("готово", timeout=180_000)
    expect(page.locator("#batch-status")).to_contain_text("Отобрано для досмотра")
    readable(page)
    shot(page, "batch-ru")
    batch_id = page.url.rsplit("/", 1)[1]
    page.goto(uz.url + "/web/batches")
    expect(page.get_by_role("heading", name="Оценённые партии")).to_be_visible()
    readable(page)
    shot(page, "batches-ru")

    page.goto(f"{uz.url}/web/batches/{batch_id}/flagged")
    expect(page.get_by_role("heading", name=re.compile("Отобранные контейнеры"))).to_be_visible()
    lanes = page.locator("table.flagged tbody tr td:first-child").all_inner_texts()
    assert lanes and {t.strip() for t in lanes} <= {"Красный", "Жёлтый", "Зелёный"}, lanes
    text = readable(page)
    # The reasons are the Russian ones the pack gives (every shipped rule has one).
    assert re.search(r"грузо(отправител|получател)|коносамент|контейнер|товар", text)
    shot(page, "flagged-ru")

    container = open_first_flagged(page, RU)
    readable(page)
    shot(page, "container-ru")
    # No result preselected; record a seizure.
    record_seizure(page, RU, "кокаин в корпусе испарителя рефрижератора")
    readable(page)
    shot(page, "inspection-ru")

    open_query_form(page, RU, container)
    expect(page.get_by_label(RU.question)).to_contain_text("Просим проверить")
    readable(page)
    page.get_by_role("checkbox", name=re.compile(f"^{KZ} ")).check()
    shot(page, "query-new-ru")
    page.get_by_role("button", name="Отправить запрос").click()
    page.wait_for_url(re.compile(r"/web/queries/[^/?]+$"))
    expect(page.get_by_role("heading", name=re.compile("Пояснение риска"))).to_be_visible()
    # The question stays as written; the interface around it is Russian.
    expect(page.locator("ol.thread")).to_contain_text(container)
    readable(page)
    shot(page, "query-ru")

    # The receiving unit's officer reads the same query in Russian, with Russian reasons.
    kz_context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1280, "height": 900}, locale="ru-RU"
    )
    kz_page = kz_context.new_page()
    kz_page.set_default_timeout(60_000)
    query_id = page.url.rsplit("/", 1)[1]
    sign_in(kz_page, kz, "/web/queries?box=inbox", key_label="API-ключ", button="Вход")
    wait_for_query(kz_page, query_id)
    expect(kz_page.locator("table.queries")).to_contain_text("срочный")
    readable(kz_page)
    shot(kz_page, "inbox-ru")
    kz_page.get_by_role("link", name=query_id).click()
    expect(kz_page.locator("body")).to_contain_text(container)
    readable(kz_page)
    shot(kz_page, "query-inbox-ru")

    for name, target in (("rules-ru", "/web/rules"), ("model-ru", "/web/model")):
        page.goto(uz.url + target)
        readable(page)
        shot(page, name)
    page.goto(uz.url + "/web/containers/NOSUCH0000")
    expect(page.get_by_role("heading", name="Не найдено")).to_be_visible()
    shot(page, "error-ru")
    context.close()
    kz_context.close()


def test_case_note_with_a_rule_backtested_and_adopted_in_the_browser(
    units: dict[str, LiveUnit], browser: object
) -> None:
    """UZ writes a case note with a proposed rule (a broken one first); a rule author of KZ
    backtests it on KZ's history in one click and adopts it in shadow; UZ sees the decision."""
    from playwright.sync_api import expect

    from tests.api._manifests import rows
    from tests.federation._casenote import BROKEN, PROPOSAL, RULE_ID

    uz, kz = units[UZ], units[KZ]
    # KZ's history: a scored batch with inspections (the rule hits the reefers 0, 3 and 6).
    records = rows(9, owner="KZHU", tag="K")
    with kz.client() as client:
        batch = client.post("/v1/batches", json={"rows": records}, timeout=600)
        assert batch.status_code == 201, batch.text
        for i, outcome in ((0, "seizure"), (3, "clean"), (6, "seizure"), (1, "clean")):
            client.post(
                "/v1/inspections",
                json={
                    "batch_id": batch.json()["id"],
                    "container_number": records[i]["container_number"],
                    "outcome": outcome,
                },
            ).raise_for_status()

    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(60_000)
    sign_in(page, uz, "/web/casenotes/new")
    page.get_by_label(re.compile("all trusted partners")).check()
    page.get_by_label("Title").fill("Cocaine in the evaporator housing of banana reefers")
    page.get_by_label("Found on").fill("2026-11-20")
    page.get_by_label("What was found").fill("212 kg cocaine hydrochloride in 180 bricks")
    page.get_by_label("Where: UN/LOCODE or IATA code").fill("UZTAS")
    page.get_by_label("Route, in order").fill("ECGYE > PAMIT > GEPTI > UZTAS")
    page.get_by_label("Concealment method").fill("bricks behind the evaporator panel of reefers")
    page.get_by_label("Name of party 1").fill("Exportadora del Pacifico S.A.")
    page.get_by_label("Country of party 1").fill("EC")
    page.get_by_label("Name of party 2").fill("Tropical Fruit Import LLC")
    page.get_by_label("Country of party 2").fill("UZ")
    page.get_by_label("mask party 2").check()
    page.get_by_label("File name (used in error positions)").fill("poti-case.yaml")
    page.get_by_label("Rule YAML").fill(BROKEN)
    page.get_by_role("button", name="Send case note").click()
    expect(page.locator("#send-error")).to_contain_text("poti-case.yaml:23:10")
    shot(page, "casenote-error")
    page.get_by_label("Rule YAML").fill(PROPOSAL)
    page.get_by_role("button", name="Send case note").click()
    page.wait_for_url(re.compile(r"/web/casenotes/[^/?]+$"))
    note_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#rule-check")).to_contain_text(RULE_ID)

    # KZ: a rule author sees the note arrive, backtests in one click, adopts in shadow.
    author = kz.create_key("rule_author")
    kz_context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    kz_page = kz_context.new_page()
    kz_page.set_default_timeout(60_000)
    kz_page.goto(kz.url + "/web/casenotes?box=inbox")
    kz_page.get_by_label("API key").fill(author)
    kz_page.get_by_role("button", name="Sign in").click()
    for _ in range(60):
        if kz_page.locator(f"a[href='/web/casenotes/{note_id}']").count():
            break
        kz_page.wait_for_timeout(500)
        kz_page.reload()
    expect(kz_page.locator("table.casenotes")).to_contain_text(UZ)
    shot(kz_page, "casenotes")
    kz_page.locator(f"a[href='/web/casenotes/{note_id}']").click()
    expect(kz_page.locator("body")).to_contain_text("masked by UZ-TAS-PCU")
    expect(kz_page.locator("body")).not_to_contain_text("Tropical Fruit Import LLC")
    kz_page.get_by_role("button", name="Backtest on our history").click()
    backtest = kz_page.locator("table.backtest")
    expect(backtest).to_contain_text(RULE_ID)
    cells = backtest.locator("tbody tr").first.locator("td").all_inner_texts()
    assert cells[1:6] == ["3", "0.33", "3", "2", "66.7%"], cells
    kz_page.get_by_label(re.compile("Note to UZ-TAS-PCU")).fill("adopted in shadow for a month")
    kz_page.get_by_role("button", name="Adopt in shadow (experimental)").click()
    expect(kz_page.locator("#decide-h + p")).to_contain_text("Adopted")
    shot(kz_page, "casenote-inbox")
    kz_page.goto(kz.url + "/web/rules")
    expect(kz_page.locator("body")).to_contain_text(f"adopted from {UZ}")

    # UZ sees the decision come back.
    note_url = f"{uz.url}/web/casenotes/{note_id}"
    open_until(page, note_url, "table.recipients", "adopted in shadow for a month")
    expect(page.locator("table.recipients")).to_contain_text("adopted")
    expect(page.locator("body")).to_contain_text("Tropical Fruit Import LLC")  # its own copy
    shot(page, "casenote-outbox")
    context.close()
    kz_context.close()
