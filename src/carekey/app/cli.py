"""``carekey app …``: the key app on the command line (one process per command).

Mounted by the main command line (``carekey.cli.main``) as ``carekey app``::

    carekey app enrol 123456                 # the one-time code from the office
    carekey app login E0001                  # password first, then a personal code
    carekey app doors                        # asks for the personal code
    carekey app open KBH-HL-000001 --code 2468
    carekey app status
    carekey app tui

Each command that needs the keys takes the personal code (hidden prompt, or ``--code`` for
scripts): the keys are only ever decrypted inside the process that uses them.

Tests replace :func:`make_keyapp` (the one place a :class:`KeyApp` is built) to run the commands
against an in-process server and in-memory doors.

The helpers at the top (door kinds, the status line) are shared with the terminal UI.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from carekey.app.client import PASSWORD_CHANGE_REQUIRED, AppError, ServerClient, ServerError
from carekey.app.service import AppStatus, DoorView, KeyApp, VisitOutcome
from carekey.app.transports import directory_transports
from carekey.app.wallet import check_code
from carekey.clock import SystemClock
from carekey.domain.errors import DomainError

DEFAULT_SERVER = "http://127.0.0.1:8000"
DEFAULT_DATA_DIR = Path("data/phone")
DEFAULT_DOORS = Path("data/demo/doors.json")

# --- words shared with the terminal UI -----------------------------------------------------------

KIND_NAMES: dict[str, tuple[str, str]] = {
    "gate_controller": ("Port", "Gate"),
    "entrance_controller": ("Opgang", "Stairwell door"),
    "home_lock": ("Hoveddør", "Front door"),
}
_KIND_ORDER = {"gate_controller": 0, "entrance_controller": 1, "home_lock": 2}


def pick(lang: str, da: str, en: str) -> str:
    """``en`` when the language is English, else ``da`` (Danish is the default)."""
    return en if lang == "en" else da


def kind_name(kind: str, lang: str = "da") -> str:
    """'Hoveddør', 'Opgang' or 'Port' (or the English word)."""
    da, en = KIND_NAMES.get(kind, (kind, kind))
    return pick(lang, da, en)


def visit_order(doors: list[DoorView]) -> list[DoorView]:
    """Citizens in the bundle's order; for each, gate, stairwell door and front door, the order
    in which the employee meets them."""
    first_seen: dict[tuple[str, str], int] = {}
    for door in doors:
        first_seen.setdefault((door.citizen_name, door.address), len(first_seen))
    return sorted(
        doors,
        key=lambda d: (first_seen[(d.citizen_name, d.address)], _KIND_ORDER.get(d.kind, 9)),
    )


def pending_text(count: int, lang: str = "da") -> str:
    """'1 hændelse venter på upload' / 'N hændelser venter på upload'."""
    if count == 1:
        return pick(lang, "1 hændelse venter på upload", "1 event waiting to upload")
    return pick(lang, f"{count} hændelser venter på upload", f"{count} events waiting to upload")


def doors_today(count: int, lang: str = "da") -> str:
    """'1 dør i dag' / '2 døre i dag': the noun agrees with the count."""
    if lang == "en":
        return f"{count} {'door' if count == 1 else 'doors'} today"
    return f"{count} {'dør' if count == 1 else 'døre'} i dag"


def keys_text(status: AppStatus, lang: str = "da") -> str:
    """'Nøgler gyldige til HH:MM', or that there are no keys."""
    until = status.valid_until_local()
    if not status.keys_present or until is None:
        return pick(lang, "Ingen nøgler", "No keys")
    return pick(lang, f"Nøgler gyldige til {until}", f"Keys valid until {until}")


def online_text(status: AppStatus, lang: str = "da") -> str:
    """'Online', 'Offline' or 'Ukendt' (no answer yet, or none for a while: then when the
    server last answered), from the server's recent answers (:mod:`carekey.app.connection`)."""
    if status.online is True:
        return "Online"
    if status.online is False:
        return "Offline"
    last = status.last_answer_local()
    if last is None:
        return pick(lang, "Forbindelse ukendt", "Connection unknown")
    return pick(
        lang, f"Forbindelse ukendt (svar kl. {last})", f"Connection unknown (answer {last})"
    )


def freshness_text(status: AppStatus, lang: str = "da") -> str | None:
    """The warning before the proof of freshness runs out (None: nothing to warn about)."""
    if not status.freshness_warning:
        return None
    until = status.freshness_until_local()
    if status.freshness_expired or until is None:
        return pick(
            lang,
            "Find dækning nu, ellers kan dørene ikke åbnes",
            "Find coverage now or doors will not open",
        )
    return pick(
        lang,
        f"Find dækning inden kl. {until}, ellers kan dørene ikke åbnes",
        f"Find coverage before {until} or doors will not open",
    )


def status_line(status: AppStatus, lang: str = "da") -> str:
    """The one line at the top of the screen."""
    parts = [
        online_text(status, lang),
        keys_text(status, lang),
        pending_text(status.pending_uploads, lang),
    ]
    if status.employee_number:
        parts.insert(0, status.employee_number)
    warning = freshness_text(status, lang)
    if warning:
        parts.append(warning)
    return " · ".join(parts)


def heartbeat_text(answer: str, lang: str = "da") -> tuple[bool, str]:
    """What a heartbeat's answer means for the employee: (fine, message)."""
    texts = {
        "OK": (True, "Serveren svarede; alt er i orden.", "The server answered; all is well."),
        "REFRESH": (
            True,
            "Serveren har givet dig nye nøgler.",
            "The server has given you new keys.",
        ),
        "WIPE": (
            False,
            "Serveren har spærret dine nøgler; de er slettet fra telefonen. Kontakt din leder.",
            "The server has blocked your keys; they are deleted from the phone. "
            "Contact your manager.",
        ),
        "OFFLINE": (
            False,
            "Ingen forbindelse til serveren; nøglerne virker stadig offline.",
            "No connection to the server; the keys still work offline.",
        ),
        "NO_SESSION": (
            False,
            "Du er ikke logget ind; log ind for at hente dagens nøgler.",
            "You are not logged in; log in to fetch today's keys.",
        ),
    }
    fine, da, en = texts.get(answer, (True, answer, answer))
    return fine, pick(lang, da, en)


def checked_code(code: str) -> str:
    """``code`` if it has the personal code's form (4-12 digits), else an ``AppError``."""
    try:
        check_code(code)
    except DomainError as exc:
        raise AppError(exc.code, exc.message_da, exc.message_en) from exc
    return code


def not_enrolled() -> AppError:
    """The phone has no device key registered yet."""
    return AppError(
        "app.not_enrolled",
        "Telefonen er ikke tilmeldt; brug engangskoden fra kontoret",
        "The phone is not enrolled; use the one-time code from the office",
    )


# --- building the app ----------------------------------------------------------------------------


class Language(enum.StrEnum):
    """The languages the app speaks."""

    da = "da"
    en = "en"


@dataclass(frozen=True)
class AppOptions:
    """The global options of ``carekey app``."""

    data_dir: Path = DEFAULT_DATA_DIR
    server: str | None = None  # None: the one remembered at enrolment, else DEFAULT_SERVER
    doors: Path = DEFAULT_DOORS
    lang: str | None = None  # None: the app's own setting (Danish unless changed)


def server_url(options: AppOptions, keyapp: KeyApp) -> str:
    """``--server`` / ``CAREKEY_SERVER``, else the server remembered at enrolment, else the
    local default."""
    return options.server or keyapp.state.server_url or DEFAULT_SERVER


def make_keyapp(options: AppOptions) -> KeyApp:
    """The key app on this machine: the data directory, the server over HTTP, doors from the
    door directory, the system clock.

    This is the command line's one injection seam: tests replace it (``monkeypatch.setattr``)
    with a function that builds a ``KeyApp`` on an in-process server and in-memory doors.
    """
    keyapp = KeyApp(
        options.data_dir,
        server=None,
        clock=SystemClock(),
        transports=directory_transports(options.doors),
    )
    keyapp.server = ServerClient.for_url(server_url(options, keyapp))
    return keyapp


# --- the command line ----------------------------------------------------------------------------

app = typer.Typer(
    help="Nøgleappen på en tilmeldt arbejdstelefon / the key app on an enrolled work phone.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


class _Run:
    """One command's run: its options, its consoles, its language and its key app."""

    def __init__(self, options: AppOptions) -> None:
        self.options = options
        self.out = Console(highlight=False)
        self.err = Console(stderr=True, highlight=False)
        self._keyapp: KeyApp | None = None

    @property
    def lang(self) -> str:
        if self.options.lang:
            return self.options.lang
        return self._keyapp.lang if self._keyapp is not None else "da"

    def t(self, da: str, en: str) -> str:
        return pick(self.lang, da, en)

    def keyapp(self) -> KeyApp:
        if self._keyapp is None:
            self._keyapp = make_keyapp(self.options)
        return self._keyapp

    def fail(self, message: str) -> NoReturn:
        self.err.print(f"[bold red]{escape(message)}[/]")
        raise typer.Exit(1)

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Print any user error in the app's language and exit with 1; never a traceback."""
        try:
            yield
        except AppError as exc:
            self.fail(exc.message(self.lang))
        except DomainError as exc:
            self.fail(pick(self.lang, exc.message_da, exc.message_en))
        except OSError as exc:
            self.fail(
                self.t(
                    f"Appen kan ikke bruge sin mappe {self.options.data_dir}: {exc.strerror}",
                    f"The app cannot use its directory {self.options.data_dir}: {exc.strerror}",
                )
            )

    @contextmanager
    def working(self, da: str, en: str) -> Iterator[None]:
        """A spinner on stderr while something slow happens (network, key derivation, door)."""
        with self.err.status(self.t(da, en)):
            yield

    def ask_code(self, code: str | None) -> str:
        if code is None:
            code = typer.prompt(self.t("Personlig kode", "Personal code"), hide_input=True)
        return checked_code(code)

    def twice(
        self, first: tuple[str, str], again: tuple[str, str], check: Callable[[str], str]
    ) -> str:
        """A new secret, typed twice (hidden): asked again (3 tries) when the two differ or
        ``check`` refuses it (an ``AppError``)."""
        for _ in range(3):
            value = str(typer.prompt(self.t(*first), hide_input=True))
            try:
                check(value)
            except AppError as exc:
                self.err.print(f"[bold red]{escape(exc.message(self.lang))}[/]")
                continue
            if typer.prompt(self.t(*again), hide_input=True) == value:
                return value
            self.err.print(
                "[bold red]"
                + escape(self.t("De to er ikke ens; prøv igen.", "The two differ; try again."))
                + "[/]"
            )
        raise AppError(
            "app.too_many_tries", "For mange forsøg; prøv igen.", "Too many tries; try again."
        )

    def unlocked(self, code: str | None) -> KeyApp:
        """The key app with the keys open: asks for the personal code only if there are keys."""
        keyapp = self.keyapp()
        if not keyapp.status().enrolled:
            raise not_enrolled()
        try:
            keyapp.doors()
        except AppError as exc:
            if exc.code != "app.locked":
                raise
            keyapp.unlock(self.ask_code(code))
        return keyapp


def _run(ctx: typer.Context) -> _Run:
    run = ctx.obj
    if not isinstance(run, _Run):  # a command called without the group (not via the CLI)
        run = _Run(AppOptions())
        ctx.obj = run
    return run


CodeOption = Annotated[
    str | None,
    typer.Option(
        "--code",
        help="Personlig kode (ellers spørges der) / personal code (prompted if left out).",
        show_default=False,
    ),
]


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: Annotated[
        Path,
        typer.Option(
            "--data-dir",
            envvar="CAREKEY_APP_DIR",
            help="Appens mappe på telefonen / the app's data directory.",
        ),
    ] = DEFAULT_DATA_DIR,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            envvar="CAREKEY_SERVER",
            help=(
                "Serverens adresse; huskes ved tilmelding (ellers "
                f"{DEFAULT_SERVER}) / the server's address; remembered at enrolment."
            ),
            show_default=False,
        ),
    ] = None,
    doors: Annotated[
        Path,
        typer.Option(
            "--doors",
            envvar="CAREKEY_DOORS",
            help="Dørlisten fra demoen / the demo's door directory.",
        ),
    ] = DEFAULT_DOORS,
    lang: Annotated[
        Language | None,
        typer.Option(
            "--lang",
            envvar="CAREKEY_LANG",
            help="Sprog: da eller en (ellers appens indstilling) / language.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Nøgleappen: tilmeld, log ind, se dagens døre, åbn og lås / the key app."""
    ctx.obj = _Run(
        AppOptions(
            data_dir=data_dir,
            server=server,
            doors=doors,
            lang=lang.value if lang is not None else None,
        )
    )


@app.command("enrol")
def enrol_command(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Engangskoden fra kontoret / the one-time code.")],
) -> None:
    """Tilmeld telefonen med engangskoden / enrol the phone with the one-time code."""
    run = _run(ctx)
    with run.errors():
        keyapp = run.keyapp()
        url = server_url(run.options, keyapp)
        with run.working("Tilmelder telefonen …", "Enrolling the phone …"):
            phone_id = keyapp.enrol(code.strip(), server_url=url)
    run.out.print(
        run.t(
            f"Telefonen er tilmeldt (telefon {phone_id}, server {url}).",
            f"The phone is enrolled (phone {phone_id}, server {url}).",
        )
    )
    run.out.print(
        run.t(
            "Log ind med: carekey app login MEDARBEJDERNUMMER",
            "Log in with: carekey app login EMPLOYEE_NUMBER",
        ),
        markup=False,
    )


@app.command("login")
def login_command(
    ctx: typer.Context,
    employee_number: Annotated[
        str, typer.Argument(help="Dit medarbejdernummer / your employee number.")
    ],
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            help="Adgangskode (ellers spørges der) / password (prompted if left out).",
            show_default=False,
        ),
    ] = None,
    code: CodeOption = None,
) -> None:
    """Log ind og hent dagens nøgler / log in and fetch today's keys."""
    # The password goes to the server first (a wrong one fails at once); only then is the
    # personal code chosen (typed twice) that seals today's keys on the phone: the server never
    # needs it. A one-time password from the office is replaced by one's own at this login.
    run = _run(ctx)
    with run.errors():
        keyapp = run.keyapp()
        if not keyapp.status().enrolled:
            raise not_enrolled()
        if code is not None:
            checked_code(code)  # a --code of the wrong form: before anything is sent
        if password is None:
            password = typer.prompt(run.t("Adgangskode", "Password"), hide_input=True)
        number = employee_number.strip()
        try:
            with run.working("Kontrollerer adgangskoden …", "Checking the password …"):
                keyapp.start_login(number, password)
        except ServerError as exc:
            if exc.code != PASSWORD_CHANGE_REQUIRED:
                raise
            run.out.print(escape(exc.message(run.lang)))
            _change_password(run, keyapp, number, password)
        if code is None:
            code = run.twice(
                ("Vælg en personlig kode (4-12 cifre)", "Choose a personal code (4-12 digits)"),
                ("Gentag den personlige kode", "Repeat the personal code"),
                checked_code,
            )
        with run.working("Gemmer dagens nøgler …", "Storing today's keys …"):
            status = keyapp.finish_login(code)
        count = len(keyapp.doors())
    run.out.print(
        run.t(
            f"Du er logget ind. {doors_today(count, 'da')}. {keys_text(status, 'da')}.",
            f"You are logged in. {doors_today(count, 'en')}. {keys_text(status, 'en')}.",
        )
    )


def _change_password(run: _Run, keyapp: KeyApp, number: str, password: str) -> None:
    """A new password, typed twice, and the login again with it; a new password the server
    refuses (too short, only digits, the same as before: 400/409/422) is asked for again."""
    for attempt in range(3):
        new_password = run.twice(
            ("Ny adgangskode", "New password"),
            ("Gentag den nye adgangskode", "Repeat the new password"),
            lambda value: value,
        )
        try:
            with run.working("Skifter adgangskoden …", "Changing the password …"):
                keyapp.start_login(number, password, new_password=new_password)
        except ServerError as exc:
            if exc.status not in (400, 409, 422) or attempt == 2:
                raise
            run.err.print(f"[bold red]{escape(exc.message(run.lang))}[/]")
            continue
        run.out.print(run.t("Din nye adgangskode er gemt.", "Your new password is saved."))
        return


@app.command("doors")
def doors_command(ctx: typer.Context, code: CodeOption = None) -> None:
    """Vis dagens døre / show today's doors."""
    run = _run(ctx)
    with run.errors():
        keyapp = run.unlocked(code)
        doors = visit_order(keyapp.doors())
        status = keyapp.status()
    table = Table(title=keys_text(status, run.lang), title_justify="left")
    table.add_column(run.t("Borger", "Citizen"))
    table.add_column(run.t("Adresse", "Address"))
    table.add_column(run.t("Dør", "Door"))
    table.add_column(run.t("Dør-id", "Door id"), no_wrap=True)
    previous: tuple[str, str] | None = None
    for door in doors:
        kind = kind_name(door.kind, run.lang)
        if door.emergency:
            kind += run.t(" (akutnøgle)", " (emergency key)")
        citizen = (door.citizen_name, door.address)
        if previous is not None and citizen != previous:
            table.add_section()
        # Citizen and address once per citizen: gate, stairwell and front door follow.
        name, address = ("", "") if citizen == previous else citizen
        table.add_row(escape(name), escape(address), kind, escape(door.door_id))
        previous = citizen
    run.out.print(table)
    if not doors:
        run.out.print(run.t("Ingen døre i dag.", "No doors today."))


def _visit(run: _Run, code: str | None, door_id: str, action: Callable[..., VisitOutcome]) -> None:
    with run.errors():
        keyapp = run.keyapp()
        status = keyapp.status()
        if not status.enrolled:
            raise not_enrolled()
        # Sealed keys: the code is asked once, and it opens the keys and the door in one step.
        personal = run.ask_code(code) if status.keys_present and keyapp.sealed else None
        if action is KeyApp.open:
            busy = run.t("Åbner døren …", "Opening the door …")
        else:
            busy = run.t("Låser døren …", "Locking the door …")
        with run.err.status(busy):
            outcome = action(keyapp, door_id.strip(), personal)
        waiting = pending_text(keyapp.status().pending_uploads, run.lang)
    message = escape(outcome.message(run.lang))
    if outcome.ok:
        run.out.print(f"[bold green]{message}[/]")
    else:
        run.err.print(f"[bold red]{message}[/]")
    run.out.print(waiting)
    if not outcome.ok:
        raise typer.Exit(1)


@app.command("open")
def open_command(
    ctx: typer.Context,
    door_id: Annotated[str, typer.Argument(help="Dørens id (se 'doors') / the door's id.")],
    code: CodeOption = None,
) -> None:
    """Åbn en dør / open a door."""
    _visit(_run(ctx), code, door_id, KeyApp.open)


@app.command("lock")
def lock_command(
    ctx: typer.Context,
    door_id: Annotated[str, typer.Argument(help="Dørens id (se 'doors') / the door's id.")],
    code: CodeOption = None,
) -> None:
    """Lås en dør, når du går / lock a door when you leave."""
    _visit(_run(ctx), code, door_id, KeyApp.lock_door)


@app.command("status")
def status_command(
    ctx: typer.Context,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="Spørg ikke serveren / do not contact the server."),
    ] = False,
) -> None:
    """Forbindelse, nøgler og hændelser, der venter / connection, keys and uploads waiting."""
    run = _run(ctx)
    note: str | None = None
    with run.errors():
        keyapp = run.keyapp()
        if not offline:
            with run.working("Kontakter serveren …", "Contacting the server …"):
                try:
                    answer = keyapp.heartbeat()
                except AppError as exc:
                    answer, note = "ERROR", exc.message(run.lang)
            if answer in ("WIPE", "REFRESH"):
                note = heartbeat_text(answer, run.lang)[1]
        status = keyapp.status()
    rows = [
        (
            run.t("Telefon", "Phone"),
            run.t("tilmeldt", "enrolled")
            if status.enrolled
            else run.t("ikke tilmeldt", "not enrolled"),
        ),
        (run.t("Medarbejder", "Employee"), status.employee_number or "–"),
        (run.t("Forbindelse", "Connection"), online_text(status, run.lang)),
        (run.t("Nøgler", "Keys"), keys_text(status, run.lang)),
        (run.t("Upload", "Upload"), pending_text(status.pending_uploads, run.lang)),
    ]
    if status.freshness_expires_at is not None:
        until = status.freshness_until_local()
        rows.append(
            (
                run.t("Friskhedsbevis", "Proof of freshness"),
                freshness_text(status, run.lang)
                or run.t(f"gyldigt til {until}", f"valid until {until}"),
            )
        )
    if status.wrong_codes:
        rows.append(
            (
                run.t("Forkerte koder", "Wrong codes"),
                str(status.wrong_codes),
            )
        )
    table = Table.grid(padding=(0, 2))
    for label, value in rows:
        table.add_row(f"[bold]{escape(label)}[/]", escape(value))
    run.out.print(table)
    if note:
        run.out.print(escape(note))


@app.command("sync")
def sync_command(ctx: typer.Context) -> None:
    """Send ventende hændelser til serveren / upload waiting events."""
    run = _run(ctx)
    with run.errors():
        keyapp = run.keyapp()
        with run.working("Sender hændelser …", "Uploading events …"):
            sent = keyapp.sync()
        status = keyapp.status()
    run.out.print(
        run.t(f"Sendt: {sent}.", f"Sent: {sent}.")
        + " "
        + pending_text(status.pending_uploads, run.lang)
    )
    if status.pending_uploads and keyapp.state.session_token is None:
        run.fail(
            run.t(
                "Du er ikke logget ind; hændelserne sendes, når du logger ind igen.",
                "You are not logged in; the events are sent when you log in again.",
            )
        )
    if status.pending_uploads and status.online is False:
        run.fail(heartbeat_text("OFFLINE", run.lang)[1])


@app.command("heartbeat")
def heartbeat_command(
    ctx: typer.Context,
    code: Annotated[
        str | None,
        typer.Option(
            "--code",
            help="Personlig kode: hent nye nøgler med det samme / personal code: "
            "fetch new keys at once (else at the next code).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Tjek ind hos serveren (spærring, nye nøgler) / check in with the server."""
    run = _run(ctx)
    with run.errors():
        keyapp = run.unlocked(code) if code is not None else run.keyapp()
        with run.working("Kontakter serveren …", "Contacting the server …"):
            answer = keyapp.heartbeat()
    fine, message = heartbeat_text(answer, run.lang)
    if answer == "REFRESH" and code is None:
        message = run.t(
            "Serveren har nye nøgler til dig; de hentes, næste gang du indtaster din kode "
            "(eller kør igen med --code).",
            "The server has new keys for you; they are fetched the next time you enter your "
            "code (or run again with --code).",
        )
    if not fine:
        run.fail(message)
    run.out.print(escape(message))


@app.command("logout")
def logout_command(ctx: typer.Context) -> None:
    """Log ud og slet nøglerne fra telefonen / log out and delete the keys."""
    run = _run(ctx)
    with run.errors():
        keyapp = run.keyapp()
        with run.working("Sender hændelser …", "Uploading events …"), suppress(AppError):
            keyapp.sync()  # best effort: what is left goes up after the next login
        keyapp.logout()
    run.out.print(
        run.t(
            "Du er logget ud; nøglerne er slettet fra telefonen.",
            "You are logged out; the keys are deleted from the phone.",
        )
    )


@app.command("tui")
def tui_command(
    ctx: typer.Context,
    tick: Annotated[
        float,
        typer.Option(
            "--tick",
            min=1.0,
            help="Sekunder mellem tjek af udløb, heartbeat og upload / seconds between checks.",
        ),
    ] = 15.0,
) -> None:
    """Start nøgleappens skærm i terminalen / start the key app's terminal UI."""
    run = _run(ctx)
    with run.errors():
        keyapp = run.keyapp()
        if run.options.lang:
            keyapp.set_language(run.options.lang)
    from carekey.app.tui import KeyAppTUI

    KeyAppTUI(keyapp, tick_interval=tick, server_url=server_url(run.options, keyapp)).run()


__all__ = [
    "DEFAULT_DATA_DIR",
    "DEFAULT_DOORS",
    "DEFAULT_SERVER",
    "KIND_NAMES",
    "AppOptions",
    "Language",
    "app",
    "checked_code",
    "freshness_text",
    "heartbeat_text",
    "keys_text",
    "kind_name",
    "make_keyapp",
    "not_enrolled",
    "online_text",
    "pending_text",
    "pick",
    "server_url",
    "status_line",
    "visit_order",
]

# The installer's commands (issue 16) register themselves on ``app``.
from carekey.app import installer_cli  # noqa: E402, F401
