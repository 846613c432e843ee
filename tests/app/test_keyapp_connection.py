"""The connection status comes from the server's answers: unknown before any, online after a
recent answer, offline after a request went unanswered, unknown again (with the time of the
last answer) when nothing was heard for a while; kept across runs of the app."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from carekey.app.cli import online_text, status_line
from carekey.app.client import AppError, ServerClient
from carekey.app.connection import ONLINE_FOR
from tests.app.conftest import World
from tests.app.fake_server import Answer


def test_unknown_before_any_answer(world: World) -> None:
    app = world.start()
    status = app.status()
    assert status.online is None
    assert online_text(status) == "Forbindelse ukendt"
    assert online_text(status, "en") == "Connection unknown"


def test_online_after_an_answer_offline_after_none(world: World) -> None:
    app = world.logged_in()
    assert app.status().online is True
    assert status_line(app.status()).startswith("E0001 · Online")

    world.server.online = False
    world.advance(seconds=61)
    assert app.heartbeat() == "OFFLINE"
    assert app.status().online is False
    assert online_text(app.status()) == "Offline"

    world.server.online = True
    assert app.heartbeat() == "OK"
    assert app.status().online is True


def test_an_upload_that_fails_turns_it_offline(world: World) -> None:
    app = world.logged_in()
    assert app.open("HL-000001").ok
    world.server.online = False
    app.sync()
    assert app.status().online is False


def test_an_old_answer_is_not_online_any_more(world: World) -> None:
    app = world.logged_in()
    answered = app.status().last_answer_local()
    world.advance(seconds=ONLINE_FOR.total_seconds() + 1)
    status = app.status()
    assert status.online is None
    assert online_text(status) == f"Forbindelse ukendt (svar kl. {answered})"
    assert online_text(status, "en") == f"Connection unknown (answer {answered})"


def test_the_status_is_kept_across_runs(world: World) -> None:
    app = world.logged_in()
    world.server.online = False
    world.advance(seconds=61)
    app.heartbeat()
    assert world.start().status().online is False  # a new run: what the last one learned
    world.server.online = True
    app.heartbeat()
    assert world.start().status().online is True


class _Answers:
    """A transport that answers every request with one status."""

    def __init__(self, status: int) -> None:
        self.status = status

    def post(self, url: str, *, json: Any = None, headers: dict[str, str] | None = None) -> Any:
        if self.status == 0:
            raise httpx.ReadTimeout("no answer")
        return Answer(self.status, {"error": {"code": "x", "message": "x", "message_en": "x"}})


def test_what_counts_as_an_answer() -> None:
    seen: list[bool] = []
    for status in (401, 403, 409, 500, 503, 0):
        client = ServerClient(_Answers(status))
        client.observer = seen.append
        with pytest.raises(AppError):  # each is an error; what counts is the outcome
            client.heartbeat(token="t")
    # A refusal is an answer; a server error or no answer at all is not.
    assert seen == [True, True, True, False, False, False]
