"""A real browser on /docs: headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

The app is served on a free loopback port by werkzeug in a background thread, with the demo
incident loaded, on every backend of the `app` fixture. The test opens Swagger UI, checks that the
page asks nothing of another origin (no CDN) and breaks no Content-Security-Policy rule, uses
"Try it out" → "Execute" on `GET /api/v1/incidents`, and downloads the CSV export as a user would.
Screenshots go to `test-output/browser/` at the repository root (gitignored).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUTPUT_DIR = Path(__file__).resolve().parents[1] / "test-output" / "browser"
DEMO_TITLE = "X (Twitter) blocked nationwide in Pakistan"
CSV_HEADER_START = "id,title,description,country"
TIMEOUT_MS = 15_000

pytestmark = pytest.mark.slow


@pytest.fixture
def sync_playwright():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: `apt-get install chromium` to run the browser test.")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: `pip install -r requirements-dev.txt`.")
    return sync_playwright


@pytest.fixture
def live_server(app, runner) -> Iterator[str]:
    """The app with the demo incident, served by werkzeug on 127.0.0.1:<free port>."""
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the test server did not stop"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# Collects Content-Security-Policy violations: a blocked script, style, font, image or connection
# is reported here even when the browser prints nothing to the console.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || "(inline)"} ${event.sourceFile || ""}`
  );
});
"""

# A real download, as a user's click on a link would start it.
CLICK_DOWNLOAD_LINK = """(href) => {
  const link = document.createElement("a");
  link.href = href;
  link.download = "";
  document.body.appendChild(link);
  link.click();
  link.remove();
}"""


def test_swagger_ui_try_it_out_and_csv_download(sync_playwright, live_server, backend, tmp_path):
    started = time.monotonic()
    base = live_server
    requests: list[str] = []
    console_errors: list[str] = []
    page_errors: list[str] = []
    failed: list[str] = []
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            accept_downloads=True,
            viewport={"width": 1280, "height": 1600},
        )
        try:
            context.set_default_timeout(TIMEOUT_MS)
            # Every request of every page and worker of the context, not only the main frame's.
            context.on("request", lambda request: requests.append(request.url))
            context.on(
                "requestfailed",
                lambda request: failed.append(f"{request.url}: {request.failure}"),
            )
            context.add_init_script(CSP_LISTENER)
            page = context.pages[0] if context.pages else context.new_page()
            page.on(
                "console",
                lambda message: (
                    console_errors.append(f"{message.text} @ {message.location}")
                    if message.type == "error"
                    else None
                ),
            )
            page.on("pageerror", lambda error: page_errors.append(str(error)))

            response = page.goto(f"{base}/docs/", wait_until="networkidle")
            assert response is not None and response.status == 200
            assert "Content-Security-Policy" in {name.title() for name in response.headers}

            # Swagger UI rendered the spec: the list operation is there.
            operation = page.locator(".opblock.opblock-get").filter(
                has=page.locator('.opblock-summary-path[data-path="/api/v1/incidents"]')
            )
            operation = operation.first
            operation.locator(".opblock-summary").first.click()
            operation.locator("button.try-out__btn").click()
            operation.locator("button.execute").click()

            live = operation.locator(".live-responses-table")
            live.locator("tr.response .response-col_status").first.wait_for()
            status = live.locator("tr.response .response-col_status").first.inner_text().strip()
            assert status == "200", status
            body = live.locator(".response-col_description .highlight-code, .response-col_description pre")
            body.first.wait_for()
            text = body.first.inner_text()
            assert DEMO_TITLE in text, text[:2000]
            assert "Pakistan" in text
            live.locator("tr.response").first.scroll_into_view_if_needed()
            screenshot = OUTPUT_DIR / f"swagger-try-it-out-{backend}.png"
            page.screenshot(path=str(screenshot), full_page=False)
            print(f"screenshot: {screenshot}")

            # The CSV export, downloaded by the same browser.
            with page.expect_download() as download_info:
                page.evaluate(CLICK_DOWNLOAD_LINK, "/api/v1/incidents.csv")
            download = download_info.value
            assert download.failure() is None, download.failure()
            assert download.url == f"{base}/api/v1/incidents.csv"
            assert download.suggested_filename.startswith("incidents-")
            assert download.suggested_filename.endswith(".csv")
            saved = tmp_path / download.suggested_filename
            download.save_as(str(saved))
            content = saved.read_text(encoding="utf-8")
            assert content.startswith(CSV_HEADER_START), content[:200]
            assert DEMO_TITLE in content

            violations = page.evaluate("() => window.__cspViolations")
        finally:
            context.close()

    foreign = [url for url in requests if url.startswith(("http:", "https:", "ws:", "wss:"))]
    foreign = [url for url in foreign if _origin(url) != base]
    assert not foreign, f"requests to another origin: {foreign}"
    assert any(url.startswith(f"{base}/docs/assets/swagger-ui-bundle.js") for url in requests), requests
    assert any(url.startswith(f"{base}/api/v1/openapi.json") for url in requests), requests
    assert violations == [], f"Content-Security-Policy violations: {violations}"
    assert console_errors == [], f"console errors: {console_errors}"
    assert page_errors == [], f"page errors: {page_errors}"
    assert failed == [], f"failed requests: {failed}"
    elapsed = time.monotonic() - started
    print(f"{backend}: {len(requests)} requests, all to {base}, and the CSV download; {elapsed:.1f} s")
    assert elapsed < 60, f"the browser test took {elapsed:.1f} s"


REVERT_PATH = "/api/v1/incidents/{incident_id}/revisions/{revision}/revert"


def test_swagger_ui_reverts_the_demo_with_the_documented_example(
    sync_playwright, live_server, editor_key, tmp_path
):
    """The revert's example (the demo incident 1, its revision 1) runs from Swagger UI: Authorize,
    Try it out, the If-Match read from GET, Execute → 200 with the demo."""
    import json
    import urllib.request

    # The demo is incident 1 in a fresh database (the example); here a PostgreSQL sequence may
    # have moved on in earlier tests.
    with urllib.request.urlopen(f"{live_server}/api/v1/incidents") as response:
        [demo] = json.load(response)
    with urllib.request.urlopen(f"{live_server}/api/v1/incidents/{demo['id']}") as response:
        etag = response.headers["ETag"]
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 1600},
        )
        try:
            context.set_default_timeout(TIMEOUT_MS)
            page = context.pages[0] if context.pages else context.new_page()
            page.goto(f"{live_server}/docs/", wait_until="networkidle")
            page.locator("button.authorize").first.click()
            page.locator(".modal-ux input").first.fill(editor_key)
            page.locator(".modal-ux button.authorize").first.click()
            page.locator(".modal-ux button.btn-done").first.click()

            operation = page.locator(".opblock.opblock-post").filter(
                has=page.locator(f'.opblock-summary-path[data-path="{REVERT_PATH}"]')
            )
            operation.locator(".opblock-summary").first.click()
            operation.locator("button.try-out__btn").click()
            for name in ("incident_id", "revision"):  # the documented examples, filled in
                assert operation.locator(f'tr[data-param-name="{name}"] input').input_value() == "1"
            operation.locator('tr[data-param-name="incident_id"] input').fill(str(demo["id"]))
            operation.locator('tr[data-param-name="If-Match"] input').fill(etag)
            operation.locator("button.execute").click()

            live = operation.locator(".live-responses-table")
            live.locator("tr.response .response-col_status").first.wait_for()
            status = live.locator("tr.response .response-col_status").first.inner_text().strip()
            body = live.locator(".response-col_description .highlight-code, .response-col_description pre")
            text = body.first.inner_text()
            page.screenshot(path=str(OUTPUT_DIR / "swagger-revert.png"), full_page=False)
        finally:
            context.close()
    assert status == "200", text[:2000]
    assert DEMO_TITLE in text
