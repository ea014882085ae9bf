"""Swagger UI at the first click, in a real browser: Authorize with a key, "Try it out" on
POST /api/v1/incidents executes its example as it stands (201), and the list pages on with
`after` (200: no `page` is sent along with it).

The browser and the server are tests/test_browser.py's: Debian's Chromium driven by Playwright,
the app with the demo incident served by werkzeug on a loopback port, on both databases.
"""

from __future__ import annotations

import pytest

from tests.test_browser import (  # noqa: F401  (fixtures)
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    live_server,
    sync_playwright,
)

pytestmark = pytest.mark.slow


def _operation(page, method: str, path: str):
    return (
        page.locator(f".opblock.opblock-{method}")
        .filter(has=page.locator(f'.opblock-summary-path[data-path="{path}"]'))
        .first
    )


def _execute(operation, fill: dict[str, str] | None = None) -> tuple[str, str]:
    """Open the operation, "Try it out", fill parameters, "Execute": the status and request URL."""
    operation.locator(".opblock-summary").first.click()
    operation.locator("button.try-out__btn").click()
    for name, value in (fill or {}).items():
        operation.locator(f'tr[data-param-name="{name}"] input').first.fill(value)
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tr.response .response-col_status").first
    status.wait_for()
    url = operation.locator(".request-url pre, .request-url").first.inner_text()
    return status.inner_text().strip(), url


def test_swagger_ui_creates_with_the_example_and_pages_with_after(
    sync_playwright,  # noqa: F811  (the fixture imported above)
    live_server,  # noqa: F811
    admin_key,
    anon_client,
    tmp_path,
):
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
            assert page.goto(f"{live_server}/docs/", wait_until="networkidle").status == 200

            page.locator(".auth-wrapper button.authorize").click()
            page.locator(".modal-ux .auth-container input").first.fill(admin_key)
            page.locator(".modal-ux .auth-btn-wrapper button.authorize").click()
            page.locator(".modal-ux button.btn-done").click()

            status, _ = _execute(_operation(page, "post", "/api/v1/incidents"))
            assert status == "201"

            # Two incidents now: a page of one has a next one, and a cursor to it.
            cursor = anon_client.get("/api/v1/incidents?page_size=1").headers["X-Next-Cursor"]
            status, url = _execute(_operation(page, "get", "/api/v1/incidents"), {"after": cursor})
            assert status == "200", url
            assert "after=" in url and "page=" not in url.replace("page_size=", "")
        finally:
            context.close()
