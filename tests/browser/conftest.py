"""The browser tests' stack: the suite's DynamoDB Local, the local API server on a free
port, the built console served on another (its /config.json pointing at that API), and
Debian's Chromium driven by Playwright (its own browser download is not reachable here).

Each test gets a fresh browser profile; a failing test leaves a screenshot of its page in
build/browser-screenshots/.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local import dynamodb, web
from tests.conftest import local_api_server

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "browser-screenshots"
CHROMIUM = "/usr/bin/chromium"
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


@pytest.fixture(scope="session")
def console_dist() -> Path:
    """web/dist built from the current sources (once; a file lock keeps parallel workers to one build)."""
    web.ensure_built(quiet=True)
    return web.DIST


@pytest.fixture(scope="session")
def api_url(dynamodb_endpoint, table) -> Iterator[str]:
    """The local API server (what `make run` starts) on the suite's table, on a free port."""
    with local_api_server(dynamodb_endpoint) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def console_url(console_dist, api_url) -> Iterator[str]:
    port = dynamodb.free_port()
    server = web.serve(port, api_url, console_dist)
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture(scope="session")
def playwright_driver():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium is missing: apt-get update && apt-get install -y chromium"
    with sync_playwright() as driver:
        yield driver


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(request, playwright_driver, console_url):
    """A page in a fresh browser profile, at the console's origin; screenshot on failure."""
    profile = tempfile.mkdtemp(prefix="crm-chromium-")
    context = playwright_driver.chromium.launch_persistent_context(
        profile,
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        base_url=console_url,
        locale="zh-CN",
        viewport={"width": 1280, "height": 800},
    )
    context.set_default_timeout(10_000)
    tab = context.pages[0] if context.pages else context.new_page()
    try:
        yield tab
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            try:
                tab.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
            except Exception as exc:  # noqa: BLE001 - the test's own failure is what matters
                print(f"no screenshot: {exc}")
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


LABELS = {
    "zh": {"school": "学校", "username": "用户名", "secret": "密码", "button": "登录"},
    "en": {"school": "School", "username": "Username", "secret": "Password", "button": "Sign in"},
}


def sign_in(page, school, session, *, path: str = "/sign-in", lang: str = "zh") -> None:
    """Fills the sign-in form (found by its labels) as `session`'s user and submits it."""
    labels = LABELS[lang]
    if path:
        page.goto(path)
    page.get_by_label(labels["school"]).fill(school.slug)
    page.get_by_label(labels["username"]).fill(session.user["username"])
    page.get_by_label(labels["secret"]).fill(session.password)
    page.get_by_role("button", name=labels["button"]).click()


def choose(page, name: str, *, exact: bool = False) -> None:
    """Picks an option of the open select (Element Plus's dropdown) by its accessible name.
    The dropdown animates into place; on a loaded machine a click aimed at a moving option
    landed on its neighbour, so the click is sent to the option itself once it is shown."""
    from playwright.sync_api import expect

    option = page.get_by_role("option", name=name, exact=exact)
    expect(option).to_be_visible()
    option.dispatch_event("click")


def pick(page, select: str, option: str, *, exact: bool = False) -> None:
    """Opens the select named `select` and picks `option` from its own list. The open is a
    click dispatched to the select itself, not aimed at its place on screen: the filters bar
    reflows while the school's lists arrive, and a click aimed at a select that had just
    moved opened its neighbour (Status instead of Source)."""
    from playwright.sync_api import expect

    page.get_by_role("combobox", name=select, exact=True).dispatch_event("click")
    listbox = page.get_by_role("listbox", name=select, exact=True)
    expect(listbox).to_be_visible()
    item = listbox.get_by_role("option", name=option, exact=exact)
    expect(item).to_be_visible()
    item.dispatch_event("click")


def shot(page, name: str) -> None:
    """With CRM_CONSOLE_SHOTS=<dir>, saves the page as <dir>/<name>.png (docs/console.md's pictures)."""
    folder = os.environ.get("CRM_CONSOLE_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))
