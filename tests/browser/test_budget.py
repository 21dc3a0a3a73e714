"""Budgets, measured in the browser rather than by feel: the JavaScript and CSS the sign-in
page loads (Element Plus per component, every other screen its own chunk) and the API calls
opening the leads list makes."""

from __future__ import annotations

import gzip
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.browser.conftest import sign_in

SIGN_IN_BUDGET = 300 * 1024  # bytes of gzip, JS and CSS together
LEADS_LIST_CALLS = 3


def _gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9))


def test_the_sign_in_page_loads_at_most_300_kb_gzip_of_javascript_and_css(page, console_dist):
    loaded: list[str] = []
    page.on("request", lambda request: loaded.append(urlsplit(request.url).path))
    page.goto("/sign-in")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assets = sorted({path for path in loaded if path.endswith((".js", ".css"))})
    assert any(path.endswith(".css") for path in assets) and any("SignIn" in path for path in assets)
    assert not any("Leads" in path or "LeadPage" in path for path in assets), assets  # other screens wait
    assert not any("echarts" in path or "Report" in path for path in assets), assets  # charts: the report pages
    sizes = {path: _gzip_size((console_dist / path.lstrip("/")).read_bytes()) for path in assets}
    total = sum(sizes.values())
    print(f"BUDGET sign-in page: {len(sizes)} JS/CSS files, {total / 1024:.1f} KB gzip (budget 300 KB)")
    assert total <= SIGN_IN_BUDGET, sizes


def test_opening_the_leads_list_makes_at_most_three_api_calls(page, school, api_url):
    consultant = school.staff("consultant")
    sign_in(page, school, consultant)
    expect(page.get_by_role("heading", name="今日工作")).to_be_visible()
    page.wait_for_load_state("networkidle")
    calls: list[str] = []
    page.on("request", lambda r: calls.append(f"{r.method} {r.url}") if r.url.startswith(api_url) else None)
    page.get_by_role("link", name="客户").click()
    expect(page.get_by_role("heading", name="客户")).to_be_visible()
    page.wait_for_load_state("networkidle")
    print(f"BUDGET leads list: {len(calls)} API calls: {calls}")
    assert 1 <= len(calls) <= LEADS_LIST_CALLS, calls
    assert all("/leads?" in call and "limit=" in call for call in calls if "/leads" in call)  # a page, never all
