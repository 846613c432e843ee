"""Issue 18: the API documentation works on a closed network, and no page logs an error.

- ``/docs`` (Swagger UI) and ``/redoc`` render the API's operations while every request to a
  host other than this machine is aborted, and none was attempted: everything they need is in
  the package.
- Every GET page of the administration UI, signed in as the administrator, and the portals of a
  housing association and a partner company, signed in as their users, log no console error, no
  uncaught exception and no CSP violation. The pages are read from the application's routes:
  each one without path parameters, then for each route with parameters the first link to it
  found on the pages already seen (ids of the seeded world), breadth first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import pytest

from carekey.sim.screenshots import sign_in_browser
from tests.access.routes import app_routes
from tests.browser.conftest import TIMEOUT_MS, VIEWPORT, AdminLogin, Server, under_ci

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Route

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - machines without the dev dependencies
    if under_ci():
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

pytestmark = pytest.mark.xdist_group("browser")

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Not pages: the JSON API, health, the language switch (a redirect), the documentation (tested
# on its own below), downloads. A page that answers anything but 200 text/html is skipped too.
NOT_PAGES = re.compile(
    r"^/(api/|healthz|readyz|openapi\.json|lang/|docs|redoc|favicon\.ico)|\.(csv|xlsx)$"
)
MAX_PAGES = 150
VIEWER_MS = 90_000
ASSOCIATION_USER = "B001"  # association 1's user: no other browser test signs in as it
PARTNER_ADMIN = "P01-ADM"  # company 1's administrator: no other browser test signs in as it

# Every CSP violation, recorded by the page itself (Chromium also logs one as a console error).
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    event.violatedDirective + " blocked " + (event.blockedURI || "inline") + " at " +
    event.sourceFile + ":" + event.lineNumber);
});
"""


@dataclass
class Watch:
    """What went wrong in a browser context: console errors, page errors, CSP violations,
    requests aborted for leaving the machine."""

    problems: list[str] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        """Record ``page``'s console errors and uncaught exceptions."""

        def console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.problems.append(f"{page.url}: console error: {message.text}")

        page.on("console", console)
        page.on("pageerror", lambda exc: self.problems.append(f"{page.url}: page error: {exc}"))

    def read_csp(self, page: Page) -> None:
        """Add the CSP violations ``page`` recorded so far."""
        for violation in page.evaluate("window.__cspViolations || []"):
            self.problems.append(f"{page.url}: CSP violation: {violation}")


def closed_network(context: BrowserContext, watch: Watch) -> None:
    """Abort every request whose host is not this machine, as a closed network would."""

    def handle(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            watch.aborted.append(url)
            route.abort()

    context.route("**/*", handle)
    context.add_init_script(CSP_WATCH)


@pytest.fixture
def watched(browser: Browser, server: Server) -> Iterator[tuple[BrowserContext, Watch]]:
    """A fresh browser context on a closed network, watched."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    watch = Watch()
    closed_network(context, watch)
    try:
        yield context, watch
    finally:
        context.close()


def test_swagger_ui_renders_the_operations_offline(
    watched: tuple[BrowserContext, Watch], server: Server
) -> None:
    context, watch = watched
    page = context.new_page()
    watch.attach(page)
    page.goto(f"{server.base_url}/docs")
    # The operations, grouped by tag, from /openapi.json: the admin API's employee list.
    expect(page.locator(".opblock").first).to_be_visible(timeout=VIEWER_MS)
    employees = page.locator(".opblock-summary-path", has_text="/api/v1/admin/employees")
    expect(employees.first).to_be_visible()
    assert page.locator(".opblock").count() > 50
    page.locator(".opblock-summary", has_text="/api/v1/admin/employees").first.click()
    # The error answers are documented, with CareKey's shape.
    expect(page.locator(".response-col_status", has_text="409").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    watch.read_csp(page)
    assert watch.aborted == []
    assert watch.problems == []


def test_redoc_renders_the_operations_offline(
    watched: tuple[BrowserContext, Watch], server: Server
) -> None:
    context, watch = watched
    page = context.new_page()
    watch.attach(page)
    page.goto(f"{server.base_url}/redoc")
    # ReDoc, like Swagger UI, takes its time over the whole API on a busy two-core machine.
    expect(page.locator("h1", has_text="CareKey")).to_be_visible(timeout=VIEWER_MS)
    expect(page.locator("[data-section-id^='operation/']").first).to_be_attached()
    assert page.locator("[data-section-id^='operation/']").count() > 50
    # ReDoc's search runs in its worker (blob:, admitted by the page's CSP).
    page.get_by_placeholder("Search...").fill("employees")
    found = page.get_by_role("search").get_by_role("menuitem", name="List Employees")
    expect(found).to_be_visible(timeout=VIEWER_MS)
    page.wait_for_load_state("networkidle")
    watch.read_csp(page)
    assert watch.aborted == []
    assert watch.problems == []


def _templates() -> tuple[list[str], list[tuple[str, re.Pattern[str]]]]:
    """The GET page routes: the paths without parameters, and the templates with them."""
    plain, templated = [], []
    for method, path in sorted(app_routes()):
        if method != "GET" or NOT_PAGES.search(path):
            continue
        if "{" in path:
            pattern = re.escape(path)
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/?#]+", pattern)
            templated.append((path, re.compile(f"^{pattern}$")))
        else:
            plain.append(path)
    return plain, templated


def visit_every_page(page: Page, base_url: str, watch: Watch) -> list[str]:
    """Visit the application's GET pages as the signed-in user of ``page``; the paths seen."""
    plain, templated = _templates()
    queue = list(plain)
    tried: set[str] = set()
    seen_templates: set[str] = set()
    visited: list[str] = []
    while queue and len(visited) < MAX_PAGES:
        path = queue.pop(0)
        if path in tried:
            continue
        tried.add(path)
        answer = page.request.get(base_url + path, max_redirects=0)
        if answer.status != 200 or not answer.headers.get("content-type", "").startswith(
            "text/html"
        ):
            continue
        page.goto(base_url + path)
        page.wait_for_load_state("networkidle")
        watch.read_csp(page)
        visited.append(path)
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            parts = urlsplit(urljoin(page.url, href))
            if parts.hostname not in LOCAL_HOSTS or parts.path in plain:
                continue  # another site, or a page of its own (/employees/new)
            for template, pattern in templated:
                if template not in seen_templates and pattern.match(parts.path):
                    seen_templates.add(template)
                    queue.append(parts.path)
    return visited


@pytest.mark.parametrize(
    "who",
    [
        pytest.param(None, id="administrator"),
        pytest.param(ASSOCIATION_USER, id="housing-association"),
        pytest.param(PARTNER_ADMIN, id="partner-company"),
    ],
)
def test_no_page_logs_a_console_error(
    watched: tuple[BrowserContext, Watch],
    server: Server,
    admin_login: AdminLogin,
    who: str | None,
) -> None:
    context, watch = watched
    page = context.new_page()
    if who is None:
        context.add_cookies(admin_login.storage_state["cookies"])
    else:
        sign_in_browser(page, server.base_url, employee_number=who)
    watch.attach(page)
    visited = visit_every_page(page, server.base_url, watch)
    minimum = 25 if who is None else 3
    assert len(visited) >= minimum, visited
    if who is None:
        # Detail pages, reached through the lists' links, are among them.
        assert any(re.search(r"/\d+$", path) for path in visited), visited
    assert watch.aborted == []
    assert watch.problems == [], "\n".join(watch.problems)
