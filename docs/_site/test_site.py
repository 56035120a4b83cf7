"""The built documentation site, opened in a real headless browser (Debian's Chromium, driven by Playwright).

`nox -s docs` builds the site into build/site first, then runs these tests. Every page must load without a
console error or a failed request, every internal link and anchor must lead somewhere, navigation and search
must work, and the graph picture must render. Screenshots land in build/docs-screenshots for a person to look at.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("INK_SITE_DIR", ROOT / "build" / "site"))
SCREENSHOTS = ROOT / "build" / "docs-screenshots"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    assert (SITE / "index.html").is_file(), f"no site in {SITE}: build it with `nox -s docs` (or mkdocs build)"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=SITE))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def _chromium() -> str:
    found = os.environ.get("CHROMIUM_BINARY") or shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "no Chromium: install Debian's package (apt install chromium) or set CHROMIUM_BINARY"
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        launched = playwright.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        yield launched
        launched.close()


class _Watched:
    """A browser page that records console errors, uncaught exceptions and failed requests of the site."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("requestfailed", self._failed)
        page.on(
            "response",
            lambda response: (
                response.status >= 400
                and response.url.startswith(base_url)
                and self.problems.append(f"HTTP {response.status}: {response.url}")
            ),
        )

    def _failed(self, request: Request) -> None:
        # Going to the next page aborts what the last one still loads (its search worker): not a fault of the site.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text}")


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[_Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watched = _Watched(context.new_page(), base_url)
    yield watched
    context.close()


def _pages() -> list[str]:
    return sorted(str(p.relative_to(SITE)) for p in SITE.rglob("*.html") if p.name != "404.html")


def test_the_site_has_every_section() -> None:
    pages = set(_pages())
    for expected in (
        "index.html",
        "getting-started.html",
        "concepts.html",
        "reference/settings.html",
        "reference/capabilities.html",
        "plugin-hooks.html",
        "plugins/index.html",
        "plugins/vaultwarden.html",
        "architecture.html",
    ):
        assert expected in pages, f"the site has no {expected}"
    plugin_pages = {p for p in pages if p.startswith("plugins/") and p != "plugins/index.html"}
    sources = {f"plugins/{p.stem}.html" for p in (ROOT / "docs" / "plugins").glob("*.md") if p.stem != "index"}
    assert plugin_pages == sources, "every docs/plugins page is on the site, and nothing else is there"


def test_every_page_loads_cleanly_and_every_internal_link_resolves(page: _Watched, base_url: str) -> None:
    """Each page without console errors or failed requests; each link to the site reaches a page and anchor."""
    ids: dict[str, set[str]] = {}
    links: dict[str, set[str]] = {}
    for path in _pages():
        url = urljoin(base_url, path)
        page.page.goto(url, wait_until="load")
        ids[path] = set(page.page.eval_on_selector_all("[id]", "elements => elements.map(e => e.id)"))
        hrefs = page.page.eval_on_selector_all("a[href]", "anchors => anchors.map(a => a.href)")
        links[path] = {h for h in hrefs if h.startswith(base_url)}
    assert not page.problems, "\n".join(page.problems)
    broken = []
    for source, targets in sorted(links.items()):
        for target in sorted(targets):
            address, anchor = urldefrag(target)
            path = urlparse(address).path.lstrip("/") or "index.html"
            if path.endswith("/"):
                path += "index.html"
            if path.endswith(".html") and path not in ids:
                broken.append(f"{source} → {target}: no such page")
            elif not path.endswith(".html") and not (SITE / path).is_file():
                broken.append(f"{source} → {target}: no such file")
            elif anchor and path in ids and anchor not in ids[path]:
                broken.append(f"{source} → {target}: no anchor #{anchor}")
    assert not broken, "\n".join(broken)


def test_navigation_leads_to_the_page_it_names(page: _Watched, base_url: str) -> None:
    page.page.goto(base_url)
    page.page.locator("nav.md-nav--primary").get_by_role("link", name="Getting started", exact=True).first.click()
    page.page.wait_for_url("**/getting-started.html")
    assert page.page.locator("article h1").inner_text().strip().removesuffix("¶") == "Getting started"
    page.page.locator("nav.md-nav--primary").get_by_role("link", name="Plugins", exact=True).first.click()
    page.page.wait_for_url("**/plugins/index.html")
    page.page.locator("article").get_by_role("link", name="vaultwarden", exact=True).click()
    page.page.wait_for_url("**/plugins/vaultwarden.html")
    page.page.go_back()
    page.page.locator("nav.md-nav--primary").get_by_role("link", name="Vaultwarden", exact=True).first.click()
    page.page.wait_for_url("**/plugins/vaultwarden.html")
    assert "Vaultwarden" in page.page.locator("article h1").inner_text()
    # The page lists the pinned image it deploys (written by the docs build from a synthesis).
    assert "image docker.io/vaultwarden/server:" in page.page.locator("article").inner_text()
    assert not page.problems, "\n".join(page.problems)


def test_search_finds_a_plugin_and_opens_its_page(page: _Watched, base_url: str) -> None:
    page.page.goto(base_url)
    search = page.page.locator("input.md-search__input")
    search.click()
    search.fill("vaultwarden")
    results = page.page.locator(".md-search-result__item a")
    results.first.wait_for(timeout=15_000)
    assert any("plugins/vaultwarden.html" in (href or "") for href in results.evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )), "searching 'vaultwarden' does not offer its plugin page"  # fmt: skip
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.page.screenshot(path=SCREENSHOTS / "search.png")
    page.page.locator(".md-search-result__item a[href*='plugins/vaultwarden.html']").first.click()
    page.page.wait_for_url("**/plugins/vaultwarden.html*")
    assert not page.problems, "\n".join(page.problems)


def test_the_graph_picture_renders(page: _Watched, base_url: str) -> None:
    page.page.goto(base_url)
    picture = page.page.locator("img[src$='graph.svg']")
    picture.scroll_into_view_if_needed()
    width, height = picture.evaluate("img => [img.complete && img.naturalWidth, img.naturalHeight]")
    assert width > 200 and height > 100, f"the graph picture did not render ({width}x{height})"
    svg = (SITE / "assets" / "graph.svg").read_text(encoding="utf-8")
    for service in ("vaultwarden", "cloudnativepg", "authentik", "traefik"):
        assert f">{service}<" in svg, f"the graph shows no {service}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.page.screenshot(path=SCREENSHOTS / "home.png", full_page=True)
    picture.screenshot(path=SCREENSHOTS / "graph.png")
    assert (SCREENSHOTS / "graph.png").stat().st_size > 10_000, "the graph's screenshot is (nearly) empty"
    assert not page.problems, "\n".join(page.problems)
