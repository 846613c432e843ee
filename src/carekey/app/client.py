"""The key service as the app sees it: a thin HTTP client with clear errors.

Any object with httpx's ``post(url, json=..., headers=...)`` works as the session: an
``httpx.Client`` against a real server, or FastAPI's ``TestClient`` in tests.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, Final, Protocol, cast

import httpx

from carekey.app.interfaces import DeviceSigner
from carekey.protocol.deviceproof import proof_message


class HttpResponse(Protocol):
    status_code: int

    def json(self) -> Any: ...


class HttpSession(Protocol):
    def post(self, url: str, *, json: Any = None, headers: dict[str, str] | None = None) -> Any: ...


class _HttpGetter(Protocol):
    """A session that can also GET (httpx and the test client can; the installer's orders)."""

    def get(self, url: str, *, headers: dict[str, str] | None = None) -> Any: ...


class AppError(Exception):
    """Something the employee should be told, in Danish first, with a stable code."""

    def __init__(self, code: str, message_da: str, message_en: str) -> None:
        super().__init__(f"{message_da} / {message_en}")
        self.code = code
        self.message_da = message_da
        self.message_en = message_en

    def message(self, lang: str = "da") -> str:
        """The message in ``lang`` (``da`` or ``en``)."""
        return self.message_en if lang == "en" else self.message_da


class OfflineError(AppError):
    """The server cannot be reached: the app keeps working offline."""


class ServerError(AppError):
    """The server answered with an error."""

    def __init__(self, code: str, message_da: str, message_en: str, status: int) -> None:
        super().__init__(code, message_da, message_en)
        self.status = status


class UnavailableError(ServerError):
    """The server answered but cannot serve right now (503, or a 502/504 from a proxy in
    front): nothing was done, and the same request may be sent again later (``retry_after_s``
    from the server's ``Retry-After``). Not a bad answer and not a refusal."""

    def __init__(
        self, code: str, message_da: str, message_en: str, status: int, retry_after_s: int
    ) -> None:
        super().__init__(code, message_da, message_en, status)
        self.retry_after_s = retry_after_s


_UNAVAILABLE = (502, 503, 504)

PASSWORD_CHANGE_REQUIRED: Final = "auth.password_change_required"  # noqa: S105 - an error code
"""The login's refusal (403) when the password is a one-time one from the office: log in again
with ``new_password``."""


def _unavailable(response: Any, code: str = "app.server_unavailable") -> UnavailableError:
    try:
        retry_after = max(1, int(response.headers.get("retry-after", "5")))
    except (AttributeError, ValueError):
        retry_after = 5
    return UnavailableError(
        code,
        "Serveren er midlertidigt utilgængelig; prøv igen om lidt. Nøglerne virker stadig",
        "The server is temporarily unavailable; try again shortly. The keys still work",
        response.status_code,
        retry_after,
    )


def _offline(exc: Exception) -> OfflineError:
    return OfflineError(
        "app.offline",
        "Ingen forbindelse til serveren; nøglerne virker stadig offline",
        "No connection to the server; the keys still work offline",
    )


def b64(data: bytes) -> str:
    """Standard base64 text."""
    return base64.b64encode(data).decode()


class ServerClient:
    """Calls of the key service's app API (``/api/v1/app``)."""

    def __init__(self, http: HttpSession) -> None:
        self.http = http
        self.observer: Callable[[bool], None] | None = None
        """Told of every request: answered (True) or not (False); the app's connection
        status (:mod:`carekey.app.connection`)."""

    def _answered(self, answered: bool) -> None:
        if self.observer is not None:
            self.observer(answered)

    @classmethod
    def for_url(cls, base_url: str, *, timeout: float = 10.0) -> ServerClient:
        """A client for a server at ``base_url`` (e.g. ``http://127.0.0.1:8000``)."""
        return cls(httpx.Client(base_url=base_url, timeout=timeout))

    def _post(
        self, path: str, body: Any = None, token: str | None = None, *, method: str = "POST"
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        try:
            if method == "GET":
                response = cast(_HttpGetter, self.http).get(f"/api/v1/app{path}", headers=headers)
            else:
                response = self.http.post(f"/api/v1/app{path}", json=body, headers=headers)
        except (httpx.TransportError, OSError) as exc:
            self._answered(False)
            raise _offline(exc) from exc
        try:
            data = response.json()
        except ValueError as exc:
            self._answered(False)
            if response.status_code in _UNAVAILABLE:
                raise _unavailable(response) from exc
            raise ServerError(
                "app.bad_response",
                "Serveren svarede uforståeligt",
                "The server's answer could not be read",
                response.status_code,
            ) from exc
        # An answer is any HTTP answer but a server error (a refusal is an answer too).
        self._answered(response.status_code < 500)
        if response.status_code >= 400:
            error = data.get("error", {}) if isinstance(data, dict) else {}
            if response.status_code in _UNAVAILABLE:
                raise _unavailable(response, str(error.get("code", "app.server_unavailable")))
            raise ServerError(
                str(error.get("code", "app.server_error")),
                str(error.get("message", "Serveren afviste forespørgslen")),
                str(error.get("message_en", "The server refused the request")),
                response.status_code,
            )
        return data

    def enrol(self, *, code: str, public_key: bytes) -> dict[str, Any]:
        """Register the device key with a one-time code."""
        result: dict[str, Any] = self._post("/enrol", {"code": code, "public_key": b64(public_key)})
        return result

    def _proof(
        self, signer: DeviceSigner, phone_id: int, purpose: str, challenge: str | None = None
    ) -> dict[str, str]:
        if challenge is None:
            challenge = self._post("/challenge", {"phone_id": phone_id})["challenge"]
        signature = signer.sign(proof_message(challenge, phone_id, purpose))
        return {"challenge": challenge, "signature": b64(signature)}

    def login(
        self,
        *,
        municipality: str,
        employee_number: str,
        password: str,
        phone_id: int,
        signer: DeviceSigner,
        new_password: str | None = None,
    ) -> dict[str, Any]:
        """Log in: device proof, password, and today's key bundle. ``new_password``: the
        employee's own password replacing a one-time one (after the refusal
        :data:`PASSWORD_CHANGE_REQUIRED`); sent only when given."""
        body: dict[str, Any] = {
            "municipality": municipality,
            "employee_number": employee_number,
            "password": password,
            "phone_id": phone_id,
            **self._proof(signer, phone_id, "login"),
        }
        if new_password is not None:
            body["new_password"] = new_password
        result: dict[str, Any] = self._post("/login", body)
        return result

    def bundle(
        self,
        *,
        token: str,
        phone_id: int,
        signer: DeviceSigner,
        challenge: str | None = None,
    ) -> dict[str, Any]:
        """A fresh bundle for the current session (after REFRESH). ``challenge`` is the
        ``next_challenge`` of an earlier answer, saving a round trip; None fetches one."""
        result: dict[str, Any] = self._post(
            "/bundle", self._proof(signer, phone_id, "bundle", challenge), token
        )
        return result

    def heartbeat(self, *, token: str, denylist_version: int | None = None) -> dict[str, Any]:
        """OK, REFRESH or WIPE, with a renewed proof of freshness, a time token and the
        denylist (``null`` when ``denylist_version``, the version the phone carries, is
        current)."""
        body = None if denylist_version is None else {"denylist_version": denylist_version}
        result: dict[str, Any] = self._post("/heartbeat", body, token)
        return result

    def time_token(
        self, *, token: str, door_id: str, nonce: bytes, correction: bool = False
    ) -> bytes:
        """A challenge-bound time token for a door that lost its time (``correction``: for a
        door whose clock is wrong, which may set it back to the server's time)."""
        body: dict[str, Any] = {"door_id": door_id, "nonce": b64(nonce)}
        if correction:
            body["correction"] = True
        data = self._post("/time-token", body, token)
        return base64.b64decode(data["time_token"])

    def upload(self, *, token: str, body: dict[str, Any]) -> dict[str, Any]:
        """Upload receipts, door logs and app events (idempotent on the server)."""
        result: dict[str, Any] = self._post("/events", body, token)
        return result

    # --- the installer (issue 16): their orders, the door's key and time, the reports ---------

    def installer_orders(self, *, token: str) -> list[dict[str, Any]]:
        """The installer's work orders, open ones first."""
        result: list[dict[str, Any]] = self._post("/installer/orders", None, token, method="GET")[
            "orders"
        ]
        return result

    def installer_credential(
        self,
        *,
        token: str,
        phone_id: int,
        signer: DeviceSigner,
        order_id: int,
        door_serial: str | None,
    ) -> dict[str, Any]:
        """The admin and installer key to the order's door (device proof, purpose installer)."""
        body = {"order_id": order_id, "door_serial": door_serial}
        body.update(self._proof(signer, phone_id, "installer"))
        result: dict[str, Any] = self._post("/installer/credential", body, token)
        return result

    def installer_time_token(
        self, *, token: str, order_id: int, door_serial: str | None, nonce: bytes
    ) -> bytes:
        """A challenge-bound time token for the order's door."""
        body = {"order_id": order_id, "door_serial": door_serial, "nonce": b64(nonce)}
        data = self._post("/installer/time-token", body, token)
        return base64.b64decode(data["time_token"])

    def installer_report(self, *, token: str, report: str, body: dict[str, Any]) -> dict[str, Any]:
        """Report a commissioning (``commissioned``) or decommissioning (``decommissioned``)."""
        result: dict[str, Any] = self._post(f"/installer/{report}", body, token)
        return result
