"""The administration UI in a real browser: Debian's Chromium driven by Playwright (sync API)
against a real CareKey server in a subprocess.

One server per test session (``carekey serve`` on 127.0.0.1 and a free port, a fresh SQLite
file seeded with the Copenhagen profile, ``CAREKEY_SECRET_KEY`` set), one browser per session,
a fresh browser context per test. An administrator signs in once through the pages (password
and TOTP) and each test's context starts from that signed-in state; the sign-in test signs in
itself.

Without Chromium (``/usr/bin/chromium`` or ``chromium`` on the PATH) or the ``playwright``
package the tests are skipped with the reason, except under ``CI=true``, where that fails the
run: CI must never skip them silently. ``.ci/run`` installs Debian's ``chromium`` when missing.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import Engine

from carekey.sim.bench_web import WEB_SECRET, seed_database, web_server
from carekey.sim.screenshots import CHROMIUM_ARGS, admin_headers, sign_in_browser
from carekey.store.db import create_db_engine

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

PROFILE = "copenhagen"  # seeds in well under a second; the pages must stay fast on it
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 15_000


def under_ci() -> bool:
    """Whether this is a CI run (``CI=true``), where nothing may be skipped silently."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def chromium_path() -> str | None:
    """Debian's Chromium, if installed (``CAREKEY_TEST_CHROMIUM`` names another binary; the
    policy tests point it at a missing one)."""
    chosen = os.environ.get("CAREKEY_TEST_CHROMIUM")
    if chosen is not None:
        return chosen if Path(chosen).is_file() else None
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def _missing(reason: str) -> None:
    if under_ci():
        pytest.fail(f"{reason} (CI=true requires the browser tests to run)", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class Server:
    """The running server: where it answers and the database behind it."""

    base_url: str
    database_url: str
    engine: Engine


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """The Chromium binary, or a skip (a failure under CI) saying why there is none."""
    path = chromium_path()
    if path is None:
        _missing(
            "Chromium is not installed (apt-get install chromium); "
            "the browser tests of the administration UI need it"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("the playwright package is not installed (pip install -r requirements/dev.txt)")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, chromium_executable: str) -> Iterator[Server]:
    """CareKey on loopback against a fresh, seeded SQLite file, for the whole session."""
    folder = tmp_path_factory.mktemp("browser-server")
    url = f"sqlite:///{folder / 'carekey.db'}"
    engine = create_db_engine(url)
    try:
        seed_database(engine, profile=PROFILE, secret=WEB_SECRET)
        with web_server(url, secret=WEB_SECRET, log_path=folder / "server.log") as base_url:
            yield Server(base_url, url, engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def api(server: Server) -> Iterator[httpx.Client]:
    """An HTTP client for the server's JSON API (the key app's and the administration's)."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def admin_api(api: httpx.Client, admin_login: AdminLogin) -> dict[str, str]:
    """Bearer headers of the seeded administrator (E00001) for the admin API (password and the
    TOTP code of the authenticator set up at the browser sign-in)."""
    return admin_headers(api, totp_secret=admin_login.totp_secret)


@pytest.fixture(scope="session")
def playwright_instance(chromium_executable: str) -> Iterator[Playwright]:
    """Playwright's driver, for the session."""
    from playwright.sync_api import sync_playwright

    manager = sync_playwright()
    instance = manager.start()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright, chromium_executable: str) -> Iterator[Browser]:
    """Headless Chromium with a fresh profile (Playwright makes a temporary user-data dir)."""
    launched = playwright_instance.chromium.launch(
        executable_path=chromium_executable, headless=True, args=list(CHROMIUM_ARGS)
    )
    try:
        yield launched
    finally:
        launched.close()


@dataclass
class AdminLogin:
    """The administrator's signed-in browser state and TOTP secret."""

    storage_state: Any
    totp_secret: str


@pytest.fixture(scope="session")
def admin_login(browser: Browser, server: Server) -> AdminLogin:
    """Sign the administrator in once (first sign-in: TOTP set-up) and keep the cookies."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    try:
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        secret = sign_in_browser(page, server.base_url)
        return AdminLogin(context.storage_state(), secret)
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser, admin_login: AdminLogin) -> Iterator[Page]:
    """A page in a fresh browser context, signed in as the administrator."""
    context = browser.new_context(
        viewport=VIEWPORT,  # type: ignore[arg-type]
        storage_state=admin_login.storage_state,
        accept_downloads=True,
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def anonymous_page(browser: Browser, server: Server) -> Iterator[Page]:
    """A page in a fresh browser context with no session."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def utcnow() -> dt.datetime:
    """The server's clock: the real one (the subprocess runs with the system clock)."""
    return dt.datetime.now(dt.UTC)
