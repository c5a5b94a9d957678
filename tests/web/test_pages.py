"""The pages in-process (no browser): sign-in, CSRF, roles, unit isolation, filters, markup.

Batches are written straight into the store here (the scoring path has its own tests and the
browser test scores a real upload), so these tests take seconds.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from lxml import html as lxml_html

from api.auth import revoke_key
from api.web import STATIC_DIR
from tests.web._site import NOTE, A, B, Browserless


def test_pages_redirect_to_sign_in(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    for path in ("/web/batches", "/web/rules", f"/web/batches/{site['batch_id']}/flagged"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/web/signin?next=%2Fweb%2F")
    assert client.get("/").headers["location"] == "/web/batches"


def test_sign_in_with_a_key_sets_a_protected_cookie(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    wrong = client.sign_in("lk_0000_nope")
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.text
    response = client.sign_in(site["keys"][(A, "analyst")], "/web/rules")
    assert response.status_code == 303 and response.headers["location"] == "/web/rules"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("lookout_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert site["keys"][(A, "analyst")].split("_", 2)[2] not in cookie  # never the secret
    page = client.get("/web/batches")
    assert page.status_code == 200 and A in page.text


def test_sign_in_form_needs_its_token(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    client.get("/web/signin")
    response = client.post(
        "/web/signin", data={"api_key": site["keys"][(A, "analyst")], "csrf_token": "forged"}
    )
    assert response.status_code == 403 and "lookout_session" not in response.headers.get(
        "set-cookie", ""
    )


def test_next_never_leaves_the_site(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    response = client.sign_in(site["keys"][(A, "analyst")], "https://evil.example/x")
    assert response.headers["location"] == "/web/batches"


def test_posts_without_the_csrf_token_are_refused(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "analyst")])
    form = {"batch_id": site["batch_id"], "container_number": "MSCU1234565", "outcome": "clean"}
    for token in (None, "forged"):
        data = form if token is None else {**form, "csrf_token": token}
        response = client.post("/web/inspections", data=data)
        assert response.status_code == 403 and "Form expired" in response.text
    # Another session's token is no good either.
    other = Browserless(site["app"])
    other.sign_in(site["keys"][(A, "analyst")])
    response = client.post("/web/inspections", data={**form, "csrf_token": other.csrf()})
    assert response.status_code == 403
    # With this session's token the inspection is recorded.
    response = client.post("/web/inspections", data={**form, "csrf_token": client.csrf()})
    assert response.status_code == 303
    page = client.get("/web/containers/MSCU1234565?batch=" + site["batch_id"] + "&recorded=1")
    assert "Inspection result recorded" in page.text and "clean" in page.text


def test_viewers_read_but_do_not_write(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "viewer")])
    page = client.get(f"/web/batches/{site['batch_id']}/flagged")
    assert page.status_code == 200 and "MSCU1234565" in page.text
    assert "Score a manifest" not in client.get("/web/batches").text
    response = client.post(
        "/web/inspections",
        data={
            "batch_id": site["batch_id"],
            "container_number": "MSCU1234565",
            "outcome": "clean",
            "csrf_token": client.csrf(),
        },
    )
    assert response.status_code == 403 and "analyst role" in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_another_unit_sees_nothing(any_site: dict[str, Any]) -> None:
    site = any_site
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(B, "analyst")])
    batch = site["batch_id"]
    for path in (
        f"/web/batches/{batch}",
        f"/web/batches/{batch}/flagged",
        f"/web/batches/{batch}/flagged.csv",
        "/web/containers/MSCU1234565",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "MSCU1234565" not in response.text or path.endswith("MSCU1234565")
    assert batch not in client.get("/web/batches").text


def test_flagged_filters_sort_and_csv(any_site: dict[str, Any]) -> None:
    site = any_site
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "viewer")])
    base = f"/web/batches/{site['batch_id']}/flagged"

    def containers(query: str) -> list[str]:
        page = lxml_html.fromstring(client.get(base + query).text)
        return [a.text for a in page.xpath("//table[contains(@class, 'flagged')]/tbody/tr/td[3]/a")]

    assert containers("") == ["MSCU1234565", "CSQU3054383", "TEMU7622906"]
    assert containers("?sort=risk_score") == ["TEMU7622906", "CSQU3054383", "MSCU1234565"]
    assert containers("?lane=yellow") == ["CSQU3054383", "TEMU7622906"]
    assert containers("?port=ECGYE") == ["MSCU1234565", "TEMU7622906"]
    assert containers("?chapter=62&port=ECGYE") == ["TEMU7622906"]
    assert containers("?rule=cash-freight&selected=no") == ["CSQU3054383", "TEMU7622906"]
    assert containers("?selected=yes") == ["MSCU1234565"]
    csv = client.get(base + ".csv?port=ECGYE").text.splitlines()
    assert csv[0].startswith("container_number,bl_number,lane,risk_score,selected")
    assert [line.split(",")[0] for line in csv[1:]] == ["MSCU1234565", "TEMU7622906"]
    assert "reefer-from-cocaine-source" in csv[1]
    assert client.get(base + "?sort=bogus").status_code == 422


def test_container_page_shows_reasons_chart_and_flags(any_site: dict[str, Any]) -> None:
    site = any_site
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "viewer")])
    page = client.get("/web/containers/TEMU7622906")
    assert page.status_code == 200
    doc = lxml_html.fromstring(page.text)
    assert "why TEMU7622906" in page.text
    assert doc.xpath("//svg[contains(@class, 'chart')]/title")[0].text.startswith(
        "Model contributions"
    )
    assert "container check digit" in page.text  # the raised data-quality flag
    # Parties: the other flagged containers of the same consignee.
    assert "MSCU1234565" in page.text and "ACME LLC" in page.text


def test_revoking_the_key_ends_the_session(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    key = site["keys"][(A, "analyst")]
    client.sign_in(key)
    assert client.get("/web/batches").status_code == 200
    with site["state"].sessions() as session:
        revoke_key(session, key_id=key.split("_")[1])
        session.commit()
    assert client.get("/web/batches").status_code == 303


def test_sign_out(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "analyst")])
    response = client.post("/web/signout", data={"csrf_token": client.csrf()})
    assert response.status_code == 303
    assert client.get("/web/batches").status_code == 303


def test_model_page_charts_precision_at_capacity(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "viewer")])
    page = client.get("/web/model")
    assert page.status_code == 200
    doc = lxml_html.fromstring(page.text)
    assert (
        doc.xpath("//svg[contains(@class, 'chart')]/title")[0].text
        == "Precision and recall by inspection rate"
    )
    assert "40.0%" in page.text and "demo model" in page.text


def test_batch_page_shows_the_run_notes(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "viewer")])
    page = client.get(f"/web/batches/{site['batch_id']}")
    assert page.status_code == 200
    notes = lxml_html.fromstring(page.text).xpath("//div[@role='status']/p/text()")
    assert notes == [NOTE]


def test_rules_page_and_pack_validation(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "viewer")])
    page = client.get("/web/rules")
    assert page.status_code == 200 and "cash-freight" in page.text
    assert "Rule hits in the last 30 and 90 days" in page.text
    broken = b"kind: rule\nid: r1\ntitle: t\nstatus: active\nseverity: hgh\nweight: 5\n"
    response = client.post(
        "/web/rules/validate",
        data={"csrf_token": client.csrf("/web/rules")},
        files=[("files", ("mine.yaml", broken, "text/yaml"))],
    )
    assert response.status_code == 200
    assert re.search(r"mine\.yaml:\d+:\d+", response.text)
    assert "Invalid" in response.text


def test_queries_without_a_unit_identity_explain_what_to_do(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "viewer")])
    response = client.get("/web/queries")
    assert response.status_code == 503 and "lookout unit init" in response.text


def test_every_page_is_accessible_markup(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "analyst")])
    pages = [
        "/web/batches",
        f"/web/batches/{site['batch_id']}",
        f"/web/batches/{site['batch_id']}/flagged",
        "/web/containers/MSCU1234565",
        "/web/rules",
        "/web/model",
    ]
    for path in [*pages, "/web/signin"]:
        if path == "/web/signin":
            client = Browserless(site["app"])
        response = client.get(path)
        assert response.status_code == 200, path
        doc = lxml_html.fromstring(response.text)
        assert doc.get("lang") == "en"
        assert doc.xpath("//a[@class='skip']")[0].get("href") == "#main"
        assert doc.xpath("//main[@id='main']")
        labelled = {label.get("for") for label in doc.xpath("//label[@for]")}
        for field in doc.xpath("//input | //select | //textarea"):
            if field.get("type") in ("hidden", "submit"):
                continue
            wrapped = any(a.tag == "label" for a in field.iterancestors())
            assert wrapped or field.get("id") in labelled or field.get("aria-label"), (
                path,
                lxml_html.tostring(field)[:120],
            )
        for form in doc.xpath("//form"):
            assert form.get("action"), path  # usable without JavaScript
            if form.get("method") == "post":
                assert form.xpath(".//input[@name='csrf_token']"), (path, form.get("action"))
        for script in doc.xpath("//script"):
            assert script.get("src", "").startswith("/web/static/")  # nothing from a CDN
        assert "Content-Security-Policy" in response.headers


def test_vendored_htmx_matches_its_record(site: dict[str, Any]) -> None:
    record = (STATIC_DIR / "VENDORED.md").read_text()
    digest = hashlib.sha256((STATIC_DIR / "htmx.min.js").read_bytes()).hexdigest()
    assert f"`{digest}`" in record
    assert (STATIC_DIR / "htmx.LICENSE").read_text().startswith("Zero-Clause BSD")
    response = Browserless(site["app"]).get("/web/static/htmx.min.js")
    assert response.status_code == 200 and hashlib.sha256(response.content).hexdigest() == digest
