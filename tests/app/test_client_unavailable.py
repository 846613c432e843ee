"""The key app tells "server unavailable, try again" apart from "bad answer" (issue 14)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from carekey.app.client import ServerClient, ServerError, UnavailableError


class _Canned:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response

    def post(self, url: str, *, json: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self.response


def _call(response: httpx.Response) -> ServerError:
    with pytest.raises(ServerError) as caught:
        ServerClient(_Canned(response)).heartbeat(token="t")
    return caught.value


def test_a_503_in_the_error_shape_is_unavailable_with_its_retry_after() -> None:
    body = {"error": {"code": "server.database_unavailable", "message": "x", "message_en": "y"}}
    error = _call(httpx.Response(503, json=body, headers={"Retry-After": "7"}))
    assert isinstance(error, UnavailableError)
    assert error.code == "server.database_unavailable"
    assert error.retry_after_s == 7
    assert error.message("da").startswith("Serveren er midlertidigt utilgængelig")
    assert error.message("en").startswith("The server is temporarily unavailable")


def test_a_proxys_plain_502_is_unavailable_too() -> None:
    error = _call(httpx.Response(502, text="Bad Gateway"))
    assert isinstance(error, UnavailableError)
    assert error.code == "app.server_unavailable"


def test_an_unreadable_answer_is_a_bad_answer_not_unavailable() -> None:
    error = _call(httpx.Response(500, text="Internal Server Error"))
    assert not isinstance(error, UnavailableError)
    assert error.code == "app.bad_response"
