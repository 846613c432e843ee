"""The key app's terminal UI (Textual): what an employee needs at 7 a.m.

One screen, from top to bottom:

- the status line: employee, online/offline, "Nøgler gyldige til HH:MM", "N hændelser venter
  på upload";
- the body, whichever fits the phone's state: enrolment (one-time code), login (employee number
  and password; then, only once the server has accepted the password, a new password if the
  office gave a one-time one, and the personal code typed twice) when there are no keys, unlock
  (personal code) when keys are stored but locked, else today's doors (a search field over
  citizen, address, Port / Opgang / Hoveddør and door id; the list fits 80 columns, long
  addresses wrap);
- the message area: the plain-language result of the last action ("Døren er åben.", or the
  refusal with what to do);
- the keys line: o / Enter open, l lock, / search, s sync, r refresh (heartbeat), g language,
  q quit.

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
    doors_today,
    heartbeat_text,
    kind_name,
    pending_text,
    pick,
    status_line,
    visit_order,
)
from carekey.app.client import PASSWORD_CHANGE_REQUIRED, AppError, ServerError
from carekey.app.doorlist import column_widths, matches
from carekey.app.installer import InstallerWork
from carekey.app.installer_cli import order_rows
from carekey.app.service import DoorView, KeyApp, VisitOutcome
from carekey.domain.errors import DomainError

PANES = ("enrol", "login", "change-password", "choose-code", "unlock", "doors")
# The pane -> the widget the ContentSwitcher shows, and what has the focus there.
_PANE_WIDGET = {pane: pane for pane in PANES} | {"doors": "doors-pane"}
_PANE_FOCUS = {
    "enrol": "#enrol-code",
    "login": "#employee",
    "change-password": "#new-password",
    "choose-code": "#code",
    "unlock": "#unlock-code",
    "doors": "#doors",
}

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
    "login-button": ("Log ind", "Log in"),
    "new-password-hint": (
        "Adgangskoden fra kontoret gælder kun én gang. Vælg din egen adgangskode.",
        "The password from the office works only once. Choose your own password.",
    ),
    "new-password": ("Ny adgangskode", "New password"),
    "new-password-again": ("Gentag den nye adgangskode", "Repeat the new password"),
    "new-password-button": ("Skift adgangskode", "Change password"),
    "code-hint": (
        "Adgangskoden er godkendt. Vælg en personlig kode; den låser dagens nøgler på telefonen.",
        "The password is accepted. Choose a personal code; it locks today's keys on the phone.",
    ),
    "code": ("Personlig kode (4-12 cifre)", "Personal code (4-12 digits)"),
    "code-again": ("Gentag den personlige kode", "Repeat the personal code"),
    "code-button": ("Gem nøglerne", "Store the keys"),
    "unlock-hint": (
        "Dine nøgler er låst. Indtast din personlige kode.",
        "Your keys are locked. Enter your personal code.",
    ),
    "unlock-code": ("Personlig kode", "Personal code"),
    "unlock-button": ("Lås op", "Unlock"),
    "search": ("Søg: navn, adresse eller dør-id", "Search: name, address or door id"),
}
_COLUMNS = (("Borger", "Citizen"), ("Adresse", "Address"), ("Dør", "Door"), ("Dør-id", "Door id"))


class DoorTable(DataTable[str]):
    """Today's doors; o / Enter opens the selected door, l locks it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open_door", "Åbn / open", show=False),
        Binding("l", "lock_door", "Lås / lock", show=False),
        Binding("slash", "search", "Søg / search", show=False),
    ]

    def on_resize(self, event: events.Resize) -> None:
        """A new width (the terminal was resized): fit the columns again."""
        app = self.app
        if isinstance(app, KeyAppTUI):
            app.call_after_refresh(app.refit)

    def action_search(self) -> None:
        """Move to the search field."""
        self.app.query_one("#search").focus()

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
    #body Input { width: 50; max-width: 100%; margin-bottom: 1; }
    .hint { margin-bottom: 1; }
    #body > #doors-pane { height: 1fr; }
    #doors-pane #search { width: 1fr; margin-bottom: 0; }
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
        Binding("escape", "login_back", "Tilbage / back", show=False),
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
        self._doors: list[DoorView] = []  # today's doors while the list is shown
        # The office's one-time password was accepted, a new one is due: (employee, password).
        self._password_change: tuple[str, str] | None = None
        self._table_width = 0
        self._no_match = False
        self._kept_selection: str | None = None  # the door under the cursor when sealed
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
                yield Button(id="login-button", variant="primary")
            with Vertical(id="change-password"):
                yield Static(id="new-password-hint", classes="hint", markup=False)
                yield Input(id="new-password", password=True)
                yield Input(id="new-password-again", password=True)
                yield Button(id="new-password-button", variant="primary")
            with Vertical(id="choose-code"):
                yield Static(id="code-hint", classes="hint", markup=False)
                yield Input(id="code", password=True, restrict=r"[0-9]*", max_length=12)
                yield Input(id="code-again", password=True, restrict=r"[0-9]*", max_length=12)
                yield Button(id="code-button", variant="primary")
            with Vertical(id="unlock"):
                yield Static(id="unlock-hint", classes="hint", markup=False)
                yield Input(id="unlock-code", password=True, restrict=r"[0-9]*", max_length=12)
                yield Button(id="unlock-button", variant="primary")
            with Vertical(id="doors-pane"):
                yield Input(id="search")
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
            common = self.t(
                f"o/Enter Åbn · l Lås · / Søg · s Send · r Opdatér · g {other} · q Afslut",
                f"o/Enter Open · l Lock · / Search · s Sync · r Refresh · g {other} · q Quit",
            )
        elif self.pane in ("change-password", "choose-code"):
            common = self.t(
                "Enter Fortsæt · Tab Næste felt · Esc Tilbage · Ctrl+Q Afslut",
                "Enter Continue · Tab Next field · Esc Back · Ctrl+Q Quit",
            )
        elif self.pane:
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
            if self._password_change is not None:
                pane = "change-password"
            elif self.keyapp.pending_login is not None:
                pane = "choose-code"
            else:
                pane = "login"
        elif not status.unlocked:
            pane = "unlock"
        else:
            pane = "doors"
        if pane == "doors":
            self._load_doors()
        else:
            self._forget_doors()
        if pane != self.pane:
            self.pane = pane
            self.query_one("#body", ContentSwitcher).current = _PANE_WIDGET[pane]
            self._update_keys_line()
            self.query_one(_PANE_FOCUS[pane]).focus()
        self._was_unlocked = status.unlocked

    def _forget_doors(self) -> None:
        """The keys are sealed or gone: the list (names, addresses) leaves the screen too."""
        if self._doors or self._row_doors:
            self._kept_selection = self.selected_door()  # the cursor is back there after
            self._doors = []
            self._row_doors = []
            self.query_one("#doors", DoorTable).clear(columns=True)
            self.query_one("#search", Input).value = ""

    def _load_doors(self) -> None:
        try:
            self._doors = visit_order(self.keyapp.doors())
        except AppError as exc:
            self._error(exc)
            self._doors = []
        self._show_doors()

    def _show_doors(self) -> None:
        """The doors that match the search, in columns that fit the table's width."""
        table = self.query_one("#doors", DoorTable)
        selected = self.selected_door() or self._kept_selection
        self._kept_selection = None
        query = self.query_one("#search", Input).value
        rows: list[tuple[str, str, str, str]] = []
        for door in self._doors:
            kind = kind_name(door.kind, self.lang)
            if door.emergency:  # on its own line: the column stays narrow
                kind += "\n" + self.t("(akutnøgle)", "(emergency key)")
            if not matches(query, door.citizen_name, door.address, kind, door.door_id):
                continue
            rows.append((door.citizen_name, door.address, kind, door.door_id))
        # Inside the table's scroll bar (2 cells), whatever the terminal's width.
        self._table_width = table.size.width or (self.size.width - 2)
        widths = column_widths(self._table_width - 2, rows)
        table.clear(columns=True)
        for (da, en), width in zip(_COLUMNS, widths, strict=True):
            table.add_column(self.t(da, en), width=width)
        self._row_doors = []
        for row in rows:
            table.add_row(*row, height=None)
            self._row_doors.append(row[3])
        if selected in self._row_doors:
            table.move_cursor(row=self._row_doors.index(selected))
        if query.strip() and not rows:
            self.say(
                f"Ingen døre passer til »{query.strip()}«.",
                f"No door matches “{query.strip()}”.",
                "info",
            )
            self._no_match = True
        elif self._no_match:  # that message is not true any more
            self._no_match = False
            self._show("", "info")

    def on_input_changed(self, event: Input.Changed) -> None:
        """Typing in the search field filters the list at once."""
        if event.input.id == "search" and self.pane == "doors":
            self._show_doors()

    def refit(self) -> None:
        """The table has a new width: the columns are fitted again."""
        if self.pane == "doors" and self.query_one("#doors", DoorTable).size.width != (
            self._table_width
        ):
            self._show_doors()

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
        following = {
            "employee": "#password",
            "new-password": "#new-password-again",
            "code": "#code-again",
        }
        if event.input.id in following:
            self.query_one(following[event.input.id]).focus()
        elif event.input.id == "password":
            self.submit_login()
        elif event.input.id == "new-password-again":
            self.submit_new_password()
        elif event.input.id == "code-again":
            self.submit_code()
        elif event.input.id == "search":
            self.query_one("#doors", DoorTable).focus()
        elif event.input.id == "unlock-code":
            self.submit_unlock()
        elif event.input.id == "enrol-code":
            self.submit_enrol()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """The form buttons."""
        actions = {
            "login-button": self.submit_login,
            "new-password-button": self.submit_new_password,
            "code-button": self.submit_code,
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
        """The login's first step: employee number and password to the server. Only once it
        has accepted them is the personal code asked for (a wrong password fails at once)."""
        employee = self.query_one("#employee", Input)
        password = self.query_one("#password", Input)
        if not employee.value.strip() or not password.value:
            self.say(
                "Udfyld medarbejdernummer og adgangskode.",
                "Fill in employee number and password.",
                "error",
            )
            return
        number, secret = employee.value.strip(), password.value

        def work() -> None:
            password.value = ""
            try:
                self.keyapp.start_login(number, secret)
            except ServerError as exc:
                if exc.code != PASSWORD_CHANGE_REQUIRED:
                    raise
                self._password_change = (number, secret)
                self._show(exc.message(self.lang), "info")  # what to do, not a failure
                return
            self.say(
                "Adgangskoden er godkendt. Vælg din personlige kode.",
                "The password is accepted. Choose your personal code.",
                "ok",
            )

        self._run("Kontrollerer adgangskoden …", "Checking the password …", work)

    def submit_new_password(self) -> None:
        """A one-time password from the office: the employee's own, typed twice, and the
        login again with it."""
        first = self.query_one("#new-password", Input)
        again = self.query_one("#new-password-again", Input)
        change = self._password_change
        if change is None:
            return
        if not first.value or first.value != again.value:
            first.value = again.value = ""
            first.focus()
            self.say(
                "Skriv den nye adgangskode to gange, ens.",
                "Type the new password twice, the same.",
                "error",
            )
            return
        new_password = first.value

        def work() -> None:
            first.value = again.value = ""
            self.keyapp.start_login(*change, new_password=new_password)
            self._password_change = None
            self.say(
                "Din nye adgangskode er gemt. Vælg din personlige kode.",
                "Your new password is saved. Choose your personal code.",
                "ok",
            )

        self._run("Skifter adgangskoden …", "Changing the password …", work)

    def submit_code(self) -> None:
        """The login's last step: the personal code, typed twice, seals today's keys."""
        first = self.query_one("#code", Input)
        again = self.query_one("#code-again", Input)
        try:
            code = checked_code(first.value)
        except AppError as exc:
            first.value = again.value = ""
            self._error(exc)
            first.focus()
            return
        if code != again.value:
            first.value = again.value = ""
            first.focus()
            self.say(
                "De to koder er ikke ens; prøv igen.",
                "The two codes differ; try again.",
                "error",
            )
            return

        def work() -> None:
            first.value = again.value = ""
            self.keyapp.finish_login(code)
            count = len(self.keyapp.doors())
            self.say(
                f"Du er logget ind. {doors_today(count, 'da')}.",
                f"You are logged in. {doors_today(count, 'en')}.",
                "ok",
            )

        self._run("Gemmer dagens nøgler …", "Storing today's keys …", work)

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

    def action_login_back(self) -> None:
        """Esc in the login's later steps: back to employee number and password (the login
        the server accepted is dropped; nothing was stored)."""
        if self.pane in ("change-password", "choose-code") and not self.busy:
            self.keyapp.pending_login = None
            self._password_change = None
            self.refresh_view()
            self.say("Log ind forfra.", "Log in again from the start.", "info")

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
