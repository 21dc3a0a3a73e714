"""How `make run` serves the console (infra/local/web.py): a runtime /config.json naming the
API, the router's pages answered with index.html, a missing file a 404 (never index.html
in its place), nothing outside web/dist; and a rebuild only when what the build reads changed."""

from __future__ import annotations

import http.client
import json

import pytest

from infra.local import dynamodb, web


@pytest.fixture
def served(tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>控制台</title>", encoding="utf-8")
    (dist / "assets" / "app-1.js").write_text("console.log('中文')", encoding="utf-8")
    (dist / web.STAMP_NAME).write_text("abc\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("not for the browser", encoding="utf-8")
    port = dynamodb.free_port()
    server = web.serve(port, "http://127.0.0.1:9999", dist)
    yield port
    server.shutdown()


def _get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def test_config_json_tells_the_console_where_the_api_is(served):
    status, headers, body = _get(served, "/config.json")
    assert status == 200 and headers["cache-control"] == "no-store"
    assert json.loads(body) == {"apiBaseUrl": "http://127.0.0.1:9999"}


@pytest.mark.parametrize("path", ["/", "/leads", "/leads/L123?scope=pool", "/sign-in?redirect=%2Fleads"])
def test_the_routers_pages_are_answered_with_index_html(served, path):
    status, headers, body = _get(served, path)
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "控制台" in body.decode("utf-8")


def test_assets_are_served_as_they_are_and_a_missing_one_is_a_404_not_the_page(served):
    status, headers, body = _get(served, "/assets/app-1.js")
    assert status == 200 and "javascript" in headers["content-type"] and "immutable" in headers["cache-control"]
    assert body.decode("utf-8") == "console.log('中文')"
    assert _get(served, "/assets/app-2.js")[0] == 404


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt", "/.build-stamp"])
def test_nothing_outside_the_build_is_served(served, path):
    status, _, body = _get(served, path)
    assert b"not for the browser" not in body
    assert status in (200, 404)


def test_the_build_is_current_until_a_source_the_build_reads_changes(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.ts").write_text("export {}", encoding="utf-8")
    (tmp_path / "index.html").write_text("<div id=app></div>", encoding="utf-8")
    (tmp_path / "package-lock.json").write_text("{}", encoding="utf-8")
    (tmp_path / "dist").mkdir()
    assert not web.is_current(tmp_path)  # never built
    (tmp_path / "dist" / web.STAMP_NAME).write_text(web.source_hash(tmp_path) + "\n", encoding="utf-8")
    assert web.is_current(tmp_path)
    (tmp_path / "README.txt").write_text("not read by the build", encoding="utf-8")
    assert web.is_current(tmp_path)
    (tmp_path / "src" / "main.ts").write_text("export const 改 = 1", encoding="utf-8")
    assert not web.is_current(tmp_path)
