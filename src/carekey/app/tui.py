"""The key app's terminal UI (Textual): what an employee needs at 7 a.m.

One screen, from top to bottom:

- the status line: employee, online/offline, "Nøgler gyldige til HH:MM", "N hændelser venter
  på upload";
- the body, whichever fits the phone's state: enrolment (one-time code), login (employee number,
  password, personal code) when there are no keys, unlock (personal code) when keys are stored
  but locked, else today's doors (citizen, address, Port / Opgang / Hoveddør, door id);
- the message area: the plain-language result of the last action ("Døren er åben.", or the
  refusal with what to do);
- the keys line: o / Enter open, l lock, s sync, r refresh (heartbeat), g language, q quit.

A timer calls :meth:`KeyApp.tick` (keys expire and seal on time, heartbeat, uploads) every
``tick_interval`` seconds; ``None`` turns it off, so tests call :meth:`KeyAppTUI.tick` themselves
instead of waiting for the wall clock. When the terminal loses focus (the phone's "app to the
background") the keys are sealed at once (``seal_on_blur``). A door tapped while the keys are
sealed asks for the personal code once, and that code opens the keys and the door in one step.

Every call into the app runs on the UI's event loop, one at a time, after the screen has shown
what is happening ("Åbner døren …"): the app's state is never touched by two things at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Button, ContentSwitcher, DataTable, Input, Static

from carekey.app.cli import (
    checked_code,
    heartbeat_text,
    kind_name,
    pending_text,
    pick,
    status_line,
    visit_order,
)
from carekey.app.client import AppError
from carekey.app.installer import InstallerWork
from carekey.app.installer_cli import order_rows
from carekey.app.service import KeyApp, VisitOutcome
from carekey.domain.errors import DomainError

PANES = ("enrol", "login", "unlock", "doors")

# Widget id -> (Danish, English): every fixed text on the screen.
_TEXTS: dict[str, tuple[str, str]] = {
    "title": ("CareKey · nøgleapp", "CareKey · key app"),
    "enrol-hint": (
        "Telefonen er ikke tilmeldt. Indtast engangskoden fra kontoret.",
        "The phone is not enrolled. Enter the one-time code from the office.",
    ),
    "enrol-code": ("Engangskode", "One-time code"),
    "enrol-button": ("Tilmeld", "Enrol"),
    "login-hint": (
        "Log ind for at hente dagens nøgler.",
        "Log in to fetch today's keys.",
    ),
    "employee": ("Medarbejdernummer", "Employee number"),
    "password": ("Adgangskode", "Password"),
    "code": ("Personlig kode (4-12 cifre)", "Personal code (4-12 digits)"),
    "login-button": ("Log ind", "Log in"),
    "unlock-hint": (
        "Dine nøgler er låst. Indtast din personlige kode.",
        "Your keys are locked. Enter your personal code.",
    ),
    "unlock-code": ("Personlig kode", "Personal code"),
    "unlock-button": ("Lås op", "Unlock"),
}
_COLUMNS = (("Borger", "Citizen"), ("Adresse", "Address"), ("Dør", "Door"), ("Dør-id", "Door id"))


class DoorTable(DataTable[str]):
    """Today's doors; o / Enter opens the selected door, l locks it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open_door", "Åbn / open", show=False),
        Binding("l", "lock_door", "Lås / lock", show=False),
    ]

    def action_open_door(self) -> None:
        """Open the door under the cursor."""
        app = self.app
        if isinstance(app, KeyAppTUI):
            app.open_selected()

    def action_lock_door(self) -> None:
        """Lock the door under the cursor."""
        app = self.app
        if isinstance(app, KeyAppTUI):
            app.lock_selected()


class KeyAppTUI(App[None]):
    """The key app on one phone, in a terminal."""

    TITLE = "CareKey"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    #title { background: $primary; color: $text; text-style: bold; padding: 0 1; }
    #status { background: $primary-darken-2; color: $text; padding: 0 1; }
    #body { height: 1fr; padding: 1 1 0 1; }
    #body > Vertical { height: auto; }
    #body Input { width: 50; margin-bottom: 1; }
    .hint { margin-bottom: 1; }
    #doors { height: 1fr; }
    #message { min-height: 3; padding: 1 1 0 1; }
    #message.ok { color: $success; text-style: bold; }
    #message.error { color: $error; text-style: bold; }
    #message.info { color: $text-muted; }
    #keys { background: $panel; color: $text-muted; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sync", "Send / sync", show=False),
        Binding("r", "refresh_keys", "Opdatér / refresh", show=False),
        Binding("g", "toggle_language", "Sprog / language", show=False),
        Binding("w", "work_orders", "Ordrer / work orders", show=False),
        Binding("q", "quit", "Afslut / quit", show=False),
    ]

    def __init__(
        self,
        app: KeyApp,
        *,
        tick_interval: float | None = 15.0,
        server_url: str | None = None,
        seal_on_blur: bool = True,
    ) -> None:
        """``app``: the key app to drive; ``tick_interval``: seconds between calls of
        ``KeyApp.tick`` (``None``: no timer); ``server_url``: remembered when enrolling here;
        ``seal_on_blur``: seal the keys when the terminal loses focus."""
        super().__init__()
        self.keyapp = app
        self.tick_interval = tick_interval
        self.server_url = server_url
        self.seal_on_blur = seal_on_blur
        # A door tapped while the keys were sealed: (action, door id), done with the code.
        self.pending_visit: tuple[Callable[[str, str | None], VisitOutcome], str] | None = None
        self.pane = ""
        self.busy = False
        self._row_doors: list[str] = []
        self._was_unlocked = False

    # --- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """The screen: title, status line, body, message area, keys line."""
        yield Static(id="title", markup=False)
        yield Static(id="status", markup=False)
        with ContentSwitcher(id="body", initial="login"):
            with Vertical(id="enrol"):
                yield Static(id="enrol-hint", classes="hint", markup=False)
                yield Input(id="enrol-code")
                yield Button(id="enrol-button", variant="primary")
            with Vertical(id="login"):
                yield Static(id="login-hint", classes="hint", markup=False)
                yield Input(id="employee")
                yield Input(id="password", password=True)
                yield Input(id="code", password=True, restrict=r"[0-9]*", max_length=12)
                yield Button(id="login-button", variant="primary")
            with Vertical(id="unlock"):
                yield Static(id="unlock-hint", classes="hint", markup=False)
                yield Input(id="unlock-code", password=True, restrict=r"[0-9]*", max_length=12)
                yield Button(id="unlock-button", variant="primary")
            yield DoorTable(id="doors", cursor_type="row", zebra_stripes=True)
        yield Static(id="message", markup=False)
        yield Static(id="keys", markup=False)

    def on_mount(self) -> None:
        """Show the right pane and start the timer."""
        self._apply_language()
        if self.keyapp.wallet_expired_on_start:
            self.say(
                "Dine nøgler er udløbet og slettet. Log ind igen.",
                "Your keys have expired and are deleted. Log in again.",
                "info",
            )
        self.refresh_view()
        if self.tick_interval is not None:
            self.set_interval(self.tick_interval, self.tick)

    # --- words ---------------------------------------------------------------------------------

    @property
    def lang(self) -> str:
        """The app's language: ``da`` (default) or ``en``."""
        return self.keyapp.lang

    def t(self, da: str, en: str) -> str:
        """The text in the current language."""
        return pick(self.lang, da, en)

    def _apply_language(self) -> None:
        for widget_id, (da, en) in _TEXTS.items():
            text = self.t(da, en)
            widget = self.query_one(f"#{widget_id}")
            if isinstance(widget, Input):
                widget.placeholder = text
            elif isinstance(widget, Button):
                widget.label = text
            elif isinstance(widget, Static):
                widget.update(text)
        self._update_keys_line()

    def _update_keys_line(self) -> None:
        other = self.t("English", "Dansk")
        common = self.t(
            f"s Send hændelser · r Opdatér · g {other} · q Afslut",
            f"s Sync · r Refresh · g {other} · q Quit",
        )
        if self.pane == "doors":
            doors = self.t("o/Enter Åbn · l Lås · ", "o/Enter Open · l Lock · ")
            common = doors + common
        elif self.pane in ("enrol", "login", "unlock"):
            common = self.t(
                "Enter Fortsæt · Tab Næste felt · Ctrl+Q Afslut",
                "Enter Continue · Tab Next field · Ctrl+Q Quit",
            )
        self.query_one("#keys", Static).update(common)

    def say(self, da: str, en: str, kind: str = "info") -> None:
        """Show a message (``ok``, ``error`` or ``info``) in the message area."""
        self._show(self.t(da, en), kind)

    def _show(self, text: str, kind: str) -> None:
        message = self.query_one("#message", Static)
        message.set_classes(kind)
        message.update(text)

    def _error(self, exc: AppError | DomainError) -> None:
        self._show(pick(self.lang, exc.message_da, exc.message_en), "error")

    # --- state -> screen -----------------------------------------------------------------------

    def refresh_view(self) -> None:
        """Show the pane that fits the app's state, the doors and the status line."""
        status = self.keyapp.status()
        self.query_one("#status", Static).update(status_line(status, self.lang))
        if not status.enrolled:
            pane = "enrol"
        elif not status.keys_present:
            pane = "login"
        elif not status.unlocked:
            pane = "unlock"
        else:
            pane = "doors"
        if pane == "doors":
            self._load_doors()
        if pane != self.pane:
            self.pane = pane
            self.query_one("#body", ContentSwitcher).current = pane
            self._update_keys_line()
            focus = {
                "enrol": "#enrol-code",
                "login": "#employee",
                "unlock": "#unlock-code",
                "doors": "#doors",
            }[pane]
            self.query_one(focus).focus()
        self._was_unlocked = status.unlocked

    def _load_doors(self) -> None:
        table = self.query_one("#doors", DoorTable)
        selected = self.selected_door()
        try:
            doors = visit_order(self.keyapp.doors())
        except AppError as exc:
            self._error(exc)
            doors = []
        table.clear(columns=True)
        for da, en in _COLUMNS:
            table.add_column(self.t(da, en))
        self._row_doors = []
        for door in doors:
            kind = kind_name(door.kind, self.lang)
            if door.emergency:
                kind += self.t(" (akutnøgle)", " (emergency key)")
            table.add_row(door.citizen_name, door.address, kind, door.door_id)
            self._row_doors.append(door.door_id)
        if selected in self._row_doors:
            table.move_cursor(row=self._row_doors.index(selected))

    def selected_door(self) -> str | None:
        """The door id under the cursor, if any."""
        table = self.query_one("#doors", DoorTable)
        row = table.cursor_row
        if 0 <= row < len(self._row_doors):
            return self._row_doors[row]
        return None

    # --- doing things --------------------------------------------------------------------------

    def _run(self, da: str, en: str, work: Callable[[], None]) -> None:
        """Show what is happening, then do ``work`` once the screen shows it."""
        if self.busy:
            return
        self.busy = True
        self._show(self.t(da, en), "info")

        def run() -> None:
            try:
                work()
            except AppError as exc:
                self._error(exc)
            except DomainError as exc:
                self._error(exc)
            finally:
                self.busy = False
                self.refresh_view()

        self.call_after_refresh(run)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter: next field, or submit the form."""
        following = {"employee": "#password", "password": "#code"}
        if event.input.id in following:
            self.query_one(following[event.input.id]).focus()
        elif event.input.id == "code":
            self.submit_login()
        elif event.input.id == "unlock-code":
            self.submit_unlock()
        elif event.input.id == "enrol-code":
            self.submit_enrol()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """The form buttons."""
        actions = {
            "login-button": self.submit_login,
            "unlock-button": self.submit_unlock,
            "enrol-button": self.submit_enrol,
        }
        if event.button.id in actions:
            actions[event.button.id]()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter (or a click) on a door opens it."""
        self.open_selected()

    def submit_enrol(self) -> None:
        """Enrol the phone with the one-time code typed in."""
        field = self.query_one("#enrol-code", Input)
        code = field.value.strip()
        if not code:
            self.say("Skriv engangskoden.", "Type the one-time code.", "error")
            return

        def work() -> None:
            phone_id = self.keyapp.enrol(code, server_url=self.server_url)
            field.value = ""
            self.say(
                f"Telefonen er tilmeldt (telefon {phone_id}). Log ind.",
                f"The phone is enrolled (phone {phone_id}). Log in.",
                "ok",
            )

        self._run("Tilmelder telefonen …", "Enrolling the phone …", work)

    def submit_login(self) -> None:
        """Log in with what the login form holds."""
        employee = self.query_one("#employee", Input)
        password = self.query_one("#password", Input)
        code = self.query_one("#code", Input)
        if not employee.value.strip() or not password.value or not code.value:
            self.say(
                "Udfyld medarbejdernummer, adgangskode og personlig kode.",
                "Fill in employee number, password and personal code.",
                "error",
            )
            return
        number, secret, personal = employee.value.strip(), password.value, code.value

        def work() -> None:
            password.value = ""
            code.value = ""
            checked_code(personal)
            self.keyapp.login(number, secret, personal)
            count = len(self.keyapp.doors())
            self.say(
                f"Du er logget ind. {count} døre i dag.",
                f"You are logged in. {count} doors today.",
                "ok",
            )

        self._run(
            "Logger ind og henter dagens nøgler …", "Logging in and fetching today's keys …", work
        )

    def submit_unlock(self) -> None:
        """Open the keys with the personal code typed in."""
        field = self.query_one("#unlock-code", Input)
        code = field.value
        if not code:
            self.say("Skriv din personlige kode.", "Type your personal code.", "error")
            return

        pending, self.pending_visit = self.pending_visit, None

        def work() -> None:
            field.value = ""
            if pending is not None:  # the code at the door: keys and door in one step
                action, door_id = pending
                outcome = action(door_id, code)
                self._show(outcome.message(self.lang), "ok" if outcome.ok else "error")
                return
            self.keyapp.unlock(code)
            self.say("Nøglerne er låst op.", "The keys are unlocked.", "ok")

        self._run("Låser nøglerne op …", "Unlocking the keys …", work)

    def _visit(self, action: Callable[[str, str | None], VisitOutcome], da: str, en: str) -> None:
        door_id = self.selected_door()
        if self.pane != "doors" or door_id is None:
            return
        if self.keyapp.sealed and self.keyapp.status().keys_present:
            # Sealed since the list was shown: ask for the code once, then go to the door.
            self.pending_visit = (action, door_id)
            self.refresh_view()
            self.say(
                f"Indtast din personlige kode for at fortsætte til {door_id}.",
                f"Enter your personal code to go on to {door_id}.",
                "info",
            )
            return

        def work() -> None:
            outcome = action(door_id, None)
            self._show(outcome.message(self.lang), "ok" if outcome.ok else "error")

        self._run(da, en, work)

    def on_app_blur(self, event: events.AppBlur) -> None:
        """The terminal lost focus (the phone's app went to the background): seal the keys."""
        if self.seal_on_blur and not self.busy and not self.keyapp.sealed:
            self.keyapp.background()
            self.refresh_view()

    def open_selected(self) -> None:
        """Open the door under the cursor (an explicit tap: the app never opens by itself)."""
        self._visit(self.keyapp.open, "Åbner døren …", "Opening the door …")

    def lock_selected(self) -> None:
        """Lock the door under the cursor."""
        self._visit(self.keyapp.lock_door, "Låser døren …", "Locking the door …")

    def action_sync(self) -> None:
        """Upload the events waiting in the outbox."""

        def work() -> None:
            sent = self.keyapp.sync()
            status = self.keyapp.status()
            left = pending_text(status.pending_uploads, self.lang)
            if status.pending_uploads and self.keyapp.state.session_token is None:
                self.say(
                    f"Du er ikke logget ind; hændelserne sendes, når du logger ind. {left}.",
                    f"You are not logged in; the events are sent when you log in. {left}.",
                    "error",
                )
            elif status.pending_uploads and status.online is False:
                offline = heartbeat_text("OFFLINE", self.lang)[1]
                self._show(f"{offline} {left}.", "error")
            else:
                self.say(f"Sendt: {sent}. {left}.", f"Sent: {sent}. {left}.", "ok")

        self._run("Sender hændelser …", "Uploading events …", work)

    def action_refresh_keys(self) -> None:
        """Check in with the server (heartbeat): blocks, new keys, denylist and time."""

        def work() -> None:
            answer = self.keyapp.heartbeat()
            fine, message = heartbeat_text(answer, self.lang)
            self._show(message, "ok" if fine else "error")

        self._run("Kontakter serveren …", "Contacting the server …", work)

    def action_work_orders(self) -> None:
        """An installer's work orders, open ones first (issue 16): one line each."""

        def work() -> None:
            rows = order_rows(InstallerWork(self.keyapp).orders(), self.lang)
            lines = [f"#{r[0]} {r[1]} ({r[2]}) {r[3]} - {r[4]} {r[5]}".rstrip() for r in rows]
            self._show(
                "\n".join(lines) or self.t("Ingen arbejdsordrer.", "No work orders."), "info"
            )

        self._run("Henter ordrer …", "Fetching orders …", work)

    def action_toggle_language(self) -> None:
        """Dansk ↔ English (remembered by the app)."""
        self.keyapp.set_language("en" if self.lang == "da" else "da")
        self._apply_language()
        self.refresh_view()
        self.say("Sproget er nu dansk.", "The language is now English.", "info")

    def tick(self) -> None:
        """The timer: keys expire on time, heartbeat and uploads when due."""
        if self.busy:
            return
        try:
            self.keyapp.tick()
        except AppError as exc:
            self._error(exc)
        was_unlocked = self._was_unlocked
        status = self.keyapp.status()
        if was_unlocked and not status.keys_present:
            self.say(
                "Dine nøgler er slettet (udløbet eller spærret). Log ind igen.",
                "Your keys are deleted (expired or blocked). Log in again.",
                "error",
            )
        elif was_unlocked and not status.unlocked:
            self.say(
                "Nøglerne er låst igen, fordi de ikke blev brugt. Indtast din personlige kode.",
                "The keys are locked again as they were not used. Enter your personal code.",
                "info",
            )
        self.refresh_view()


__all__ = ["DoorTable", "KeyAppTUI"]
