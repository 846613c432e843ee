"""Words for the codes the logs hold, in Danish and English: one dictionary per kind of code.

No code a log stores ever reaches a person as it is stored (``phone.enrolled``, ``unreachable``,
``phone_blocked``): pages, exports and the API's text fields all go through the functions
below. A new code gets its line in the dictionary of its kind; ``tests/audit/
test_every_code_has_words.py`` finds every code in the source and fails on one without words.

- ``ADMIN_ACTIONS``: what an office user did (the log of administrative actions), past tense:
  it has happened when it is in the log.
- ``AUDIT_ACTIONS``: what happened at a door or in the key app (``AuditAction``).
- ``REASONS``: why: a door's refusal (``protocol.errors.MESSAGES``), the key app's own reasons,
  a refusal on the MQTT broker, a revocation's reason (``DenylistReason``).
- ``WIPE_REASONS``: why the key app deleted its keys (reason of a ``wiped`` event).
- ``SOURCES``, ``FLAGS``: where an event came from, and what is wrong with its chain.
"""

from __future__ import annotations

from typing import Final

from carekey.adminui import i18n
from carekey.domain import enums as e
from carekey.protocol.errors import MESSAGES

Pair = tuple[str, str]
"""(Danish, English)."""

ADMIN_ACTIONS: Final[dict[str, Pair]] = {
    # people
    "employee.created": ("Medarbejder oprettet", "Employee created"),
    "employee.changed": ("Medarbejder rettet", "Employee changed"),
    "employee.blocked": ("Medarbejder spærret", "Employee blocked"),
    "employee.unblocked": ("Spærring af medarbejder ophævet", "Employee unblocked"),
    "employee.password_set": ("Adgangskode sat", "Password set"),
    "auth.signed_in": ("Logget ind", "Signed in"),
    "auth.totp_enrolled": ("Engangskode sat op", "Authenticator set up"),
    # accounts (issue 18): passwords and authenticators
    "accounts.one_time_password": ("Engangsadgangskode givet", "One-time password set"),
    "accounts.password_link": ("Link til at vælge adgangskode lavet", "Set-password link made"),
    "accounts.password_link_used": ("Adgangskode valgt med link", "Password chosen through a link"),
    "accounts.password_changed": ("Adgangskode skiftet", "Password changed"),
    "accounts.totp_reset": ("Godkender-app nulstillet", "Authenticator reset"),
    "municipality.created": ("Kommune oprettet", "Municipality created"),
    "job_title.added": (
        "Stilling tilføjet importens tabel",
        "Job title added to the import's table",
    ),
    "job_title.removed": (
        "Stilling fjernet fra importens tabel",
        "Job title removed from the import's table",
    ),
    # phones
    "phone.created": ("Telefon registreret", "Phone registered"),
    "phone.changed": ("Telefon rettet", "Phone changed"),
    "phone.blocked": ("Telefon spærret", "Phone blocked"),
    "phone.lost": ("Telefon spærret (mistet)", "Phone blocked (lost)"),
    "phone.unblocked": ("Spærring af telefon ophævet", "Phone unblocked"),
    "phone.enrolment_code": ("Tilmeldingskode lavet", "Enrolment code made"),
    "phone.enrolled": ("Telefon tilmeldt nøgleappen", "Phone enrolled in the key app"),
    # districts and citizens
    "district.created": ("Distrikt oprettet", "District created"),
    "district.changed": ("Distrikt rettet", "District changed"),
    "citizen.created": ("Borger oprettet", "Citizen created"),
    "citizen.changed": ("Borger rettet", "Citizen changed"),
    "citizen.removed": ("Adresse fjernet fra løsningen", "Address removed from the scheme"),
    "citizen.restored": ("Borger genskabt", "Citizen restored"),
    "emergency_key.granted": ("Akutnøgle givet", "Emergency key granted"),
    "emergency_key.revoked": ("Akutnøgle tilbagekaldt", "Emergency key revoked"),
    "consent.recorded": ("Samtykke registreret", "Consent recorded"),
    "consent.withdrawn": ("Samtykke trukket tilbage", "Consent withdrawn"),
    # the logs themselves: reading personal data is an action too
    "audit.exported": ("Revisionslog udtrukket", "Audit log exported"),
    "audit.home_report_viewed": (
        "Rapporten 'Hvem har været i hjemmet' åbnet",
        "Report 'who has been in this home' opened",
    ),
    "costs.exported": ("Omkostninger udtrukket", "Costs exported"),
    # the right of access, GDPR art. 15 (docs/access-report.md)
    "privacy.citizen_report": (
        "Indsigtsrapport for borger udarbejdet",
        "Citizen's access report made",
    ),
    "privacy.employee_report": (
        "Udtræk af medarbejderens data udarbejdet",
        "Employee's data export made",
    ),
    "partner_log.exported": ("Partnerlog udtrukket", "Partner log exported"),
    # housing associations, partner companies, agreements, errands
    "association.registered": ("Boligforening registreret", "Housing association registered"),
    "association.user_created": ("Foreningsbruger oprettet", "Association user created"),
    "company.registered": ("Firma registreret", "Company registered"),
    "company.admin_created": ("Partneradministrator oprettet", "Partner administrator created"),
    "company.blocked": ("Firma spærret", "Company blocked"),
    "company.unblocked": ("Spærring af firma ophævet", "Company unblocked"),
    "partner.worker_created": ("Partnermedarbejder oprettet", "Partner worker created"),
    "agreement.created": ("Aftale lavet", "Agreement made"),
    "agreement.changed": ("Aftale rettet", "Agreement changed"),
    "agreement.ended": ("Aftale afsluttet", "Agreement ended"),
    "agreement.blocked": (
        "Aftale spærret (firmaet spærret)",
        "Agreement blocked (company blocked)",
    ),
    "agreement.unblocked": ("Spærring af aftale ophævet", "Agreement unblocked"),
    "errand.requested": ("Ærinde bestilt", "Errand requested"),
    "errand.cancelled": ("Ærinde aflyst", "Errand cancelled"),
    "permission.requested": ("Tilladelse til moduler bedt om", "Permission for modules asked"),
    "permission.reminded": ("Påmindelse om tilladelse sendt", "Permission reminder sent"),
    "permission.granted": ("Tilladelse givet", "Permission granted"),
    "permission.refused": ("Tilladelse afslået", "Permission refused"),
    # devices and work orders
    "door.installed": ("Dørenhed monteret", "Door device installed"),
    "door.tested": ("Dørenhed testet", "Door device tested"),
    "door.commissioned": ("Dørenhed idriftsat", "Door device commissioned"),
    "door.decommissioned": ("Dørenhed taget ned", "Door device decommissioned"),
    "work_order.created": ("Arbejdsordre oprettet", "Work order created"),
    "work_order.assigned": ("Arbejdsordre tildelt en montør", "Work order assigned"),
    "work_order.scheduled": ("Arbejdsordre planlagt", "Work order scheduled"),
    "work_order.completed": ("Arbejdsordre udført", "Work order completed"),
    "work_order.signed_off": ("Arbejdsordre godkendt", "Work order signed off"),
    "work_order.cancelled": ("Arbejdsordre annulleret", "Work order cancelled"),
    # webhooks
    "webhook.created": ("Webhook oprettet", "Webhook created"),
    "webhook.secret_rotated": ("Webhook-hemmelighed skiftet", "Webhook secret rotated"),
    "webhook.enabled": ("Webhook slået til", "Webhook enabled"),
    "webhook.disabled": ("Webhook slået fra", "Webhook disabled"),
    "webhook.deleted": ("Webhook slettet", "Webhook deleted"),
    "webhook.replayed": ("Webhook-levering sendt igen", "Webhook delivery sent again"),
}

AUDIT_ACTIONS: Final[dict[e.AuditAction, Pair]] = {
    e.AuditAction.UNLOCKED: ("Låst op", "Opened"),
    e.AuditAction.LOCKED: ("Låst", "Locked"),
    e.AuditAction.REFUSED: ("Afvist", "Refused"),
    e.AuditAction.RELAY_PULSED: ("Døråbner aktiveret", "Door opener pulsed"),
    e.AuditAction.MANUAL_TURN: ("Drejet med nøgle", "Turned by hand"),
    e.AuditAction.AUTO_RELOCKED: ("Låst automatisk", "Re-locked automatically"),
    e.AuditAction.JAMMED: ("Låsen sidder fast", "Jammed"),
    e.AuditAction.LOW_BATTERY: ("Lavt batteri", "Low battery"),
    e.AuditAction.POWER_LOSS: ("Strømsvigt", "Power loss"),
    e.AuditAction.TIME_SET: ("Tid indstillet", "Time set"),
    e.AuditAction.DENYLIST_UPDATED: ("Spærreliste opdateret", "Denylist updated"),
    e.AuditAction.CONFIGURED: ("Konfigureret", "Configured"),
    e.AuditAction.LOGIN: ("Logget ind", "Logged in"),
    e.AuditAction.WIPED: ("Nøgler slettet", "Keys wiped"),
    e.AuditAction.LOGOUT: ("Logget ud", "Logged out"),
    e.AuditAction.POWER_RESTORED: ("Strøm genoprettet", "Power restored"),
    e.AuditAction.LOG_OVERFLOW: ("Loggen løb fuld", "Log overflow"),
    e.AuditAction.RATE_LIMITED: ("For mange forsøg", "Too many attempts"),
    e.AuditAction.FORCED_OPEN: ("Døren blev åbnet med magt", "Door forced open"),
    e.AuditAction.DOOR_AJAR: ("Døren står åben", "Door ajar"),
    e.AuditAction.DOOR_CLOSED: ("Døren blev lukket", "Door closed"),
}

WIPE_REASONS: Final[dict[str, Pair]] = {
    "wrong_codes": ("For mange forkerte personlige koder", "Too many wrong personal codes"),
    "expired": ("Nøglerne var udløbet", "The keys had expired"),
    "blocked": ("Telefonen eller medarbejderen blev spærret", "The phone or employee was blocked"),
    "session_expired": ("Sessionen var udløbet", "The session had expired"),
    "logout": ("Logget ud", "Logged out"),
}

REASONS: Final[dict[str, Pair]] = {
    # the door's refusals, as the protocol words them
    **MESSAGES,
    # refusals the protocol raises without a message of its own
    "bad_fragment": ("Beskeden kom i stykker undervejs.", "The message arrived broken."),
    "bad_record": ("En del af beskeden kunne ikke læses.", "A part of the message was unreadable."),
    "credential_required": (
        "Døren bad om en nøgle, men fik ingen.",
        "The door asked for a key but got none.",
    ),
    "door_auth_failed": (
        "Døren kunne ikke bevise, at den er den rigtige dør.",
        "The door could not prove it is the right door.",
    ),
    "replayed_record": ("Beskeden var sendt før (genafspillet).", "The message was replayed."),
    "session_closed": (
        "Forbindelsen til døren var lukket.",
        "The session with the door was closed.",
    ),
    "unexpected_message": (
        "Døren fik en besked i forkert rækkefølge.",
        "A message came out of order.",
    ),
    "unknown_message_type": ("Døren kender ikke beskeden.", "The door does not know the message."),
    "version_unsupported": (
        "Døren og telefonen taler ikke samme protokolversion; opdatér appen.",
        "The door and the phone speak different protocol versions; update the app.",
    ),
    "weak_key": ("Nøglen er for svag.", "The key is too weak."),
    # the phone-side driver's own failures (carekey.link), reported with a ``refused`` event
    "connect_failed": ("Kunne ikke forbinde til døren.", "Could not connect to the door."),
    "not_loopback": (
        "Kun forbindelser til denne maskine (127.0.0.1) er tilladt.",
        "Only connections to this machine (127.0.0.1) are allowed.",
    ),
    "door_busy": (
        "Døren svarede ikke; den er måske optaget af en anden telefon.",
        "The door did not answer; it may be busy with another phone.",
    ),
    "link_timeout": ("Døren svarede ikke i tide.", "The door did not answer in time."),
    "link_lost": ("Forbindelsen til døren blev afbrudt.", "The connection to the door was lost."),
    "link_failed": ("Forbindelsen til låsen blev afbrudt.", "The connection to the lock was lost."),
    "packet_too_large": (
        "Pakken er større end forbindelsen tillader.",
        "The packet is larger than the link allows.",
    ),
    "bad_link_frame": (
        "Døren sendte ugyldige data på forbindelsen.",
        "The door sent invalid data on the link.",
    ),
    "receipt_missing": (
        "Låsen kvitterede ikke for trinnet.",
        "The lock did not sign a receipt for the step.",
    ),
    "receipt_mismatch": (
        "Låsens kvittering passer ikke til trinnet.",
        "The lock's receipt does not match the step.",
    ),
    "time_token_missing": (
        "Telefonen har ingen tidsbesked til låsen; gå online og prøv igen.",
        "The phone has no time token for the lock; go online and try again.",
    ),
    "log_incomplete": (
        "Låsens log kunne ikke læses til ende.",
        "The lock's log could not be read to its end.",
    ),
    # the key app's own reasons
    "unreachable": (
        "Telefonen kunne ikke få forbindelse til døren.",
        "The phone could not reach the door.",
    ),
    # the server's own reasons, and what a door writes with an event of its own
    "decommissioned": ("Dørenheden blev taget ned.", "The door device was decommissioned."),
    "log_overflow": (
        "Dørens log var fuld; de ældste hændelser er overskrevet.",
        "The door's log was full; the oldest events were overwritten.",
    ),
    "rate_limited": (
        "For mange forsøg på kort tid; døren venter lidt.",
        "Too many attempts in a short time; the door waits a little.",
    ),
    "locked": ("Låst med nøgle indefra eller udefra", "Locked by hand"),
    "unlocked": ("Låst op med nøgle indefra eller udefra", "Unlocked by hand"),
    "corrected": ("Uret blev rettet", "The clock was corrected"),
    # refusals on the MQTT broker (online controllers)
    "unknown_topic": ("Beskeden kom på et ukendt emne.", "The message came on an unknown topic."),
    "unknown_municipality": (
        "Beskeden nævner en kommune, serveren ikke kender.",
        "The message names a municipality the server does not know.",
    ),
    "unknown_door": (
        "Beskeden kommer fra en dør, serveren ikke kender.",
        "The message comes from a door the server does not know.",
    ),
    "wrong_report_kind": (
        "Dørens melding er af en forkert slags.",
        "The door's report is of the wrong kind.",
    ),
    "bad_event_signature": (
        "En hændelse i dørens melding har en ugyldig signatur.",
        "An event in the door's report has an invalid signature.",
    ),
    # why keys were revoked (DenylistReason)
    e.DenylistReason.PHONE_BLOCKED: ("Telefonen er spærret", "The phone was blocked"),
    e.DenylistReason.PHONE_LOST: ("Telefonen er meldt mistet", "The phone was reported lost"),
    e.DenylistReason.EMPLOYEE_BLOCKED: ("Medarbejderen er spærret", "The employee was blocked"),
    e.DenylistReason.CITIZEN_REMOVED: (
        "Borgerens adresse er fjernet fra løsningen",
        "The citizen's address was removed from the scheme",
    ),
    e.DenylistReason.PARTNER_BLOCKED: ("Samarbejdspartneren er spærret", "The partner was blocked"),
    e.DenylistReason.EMERGENCY_KEY_REVOKED: (
        "Akutnøglen er tilbagekaldt",
        "The emergency key was revoked",
    ),
    e.DenylistReason.AGREEMENT_ENDED: ("Aftalen er afsluttet", "The agreement ended"),
}

SOURCES: Final[dict[e.AuditSource, Pair]] = {
    e.AuditSource.DOOR: ("dør", "door"),
    e.AuditSource.APP: ("app", "app"),
    e.AuditSource.SERVER: ("server", "server"),
}

FLAGS: Final[dict[str, Pair]] = {
    "chain_gap": ("mangler hændelser før", "events missing before"),
    "chain_evicted": (
        "hændelser før tabt i døren (overløb)",
        "events before lost in the door (overflow)",
    ),
    "chain_broken": ("kæde brudt", "chain broken"),
}

DOOR_KINDS: Final[dict[e.DoorKind, Pair]] = {
    e.DoorKind.HOME_LOCK: ("Hoveddør", "Front door"),
    e.DoorKind.ENTRANCE_CONTROLLER: ("Opgangsdør", "Stairwell door"),
    e.DoorKind.GATE_CONTROLLER: ("Port", "Gate"),
}

SAME_IN_BOTH: Final = frozenset({("app", "app"), ("server", "server")})
"""Pairs whose Danish and English are rightly the same word."""


def in_language(pair: Pair, language: str | None = None) -> str:
    """The pair's text in ``language`` (default: the language of the request)."""
    return pair[1] if (language or i18n.current_language()) == "en" else pair[0]


def admin_action_pair(code: str) -> Pair | None:
    """What an office user did, in Danish and English; None for a code without words."""
    return ADMIN_ACTIONS.get(code)


def admin_action_label(code: str, language: str | None = None) -> str:
    """What an office user did (a code of the log of administrative actions), in words."""
    pair = ADMIN_ACTIONS.get(code)
    return in_language(pair, language) if pair else code


def audit_action_pair(action: e.AuditAction | str) -> Pair:
    """What happened at a door or in the key app, in Danish and English."""
    try:
        return AUDIT_ACTIONS.get(e.AuditAction(action), (str(action), str(action)))
    except ValueError:
        return (str(action), str(action))


def audit_action_label(action: e.AuditAction | str, language: str | None = None) -> str:
    """What happened at a door or in the key app, in words."""
    return in_language(audit_action_pair(action), language)


_STATES: Final[dict[str, Pair]] = {
    "locked": ("låst", "locked"),
    "unlocked": ("låst op", "unlocked"),
    "jammed": ("sidder fast", "jammed"),
    "unknown": ("ukendt", "unknown"),
    "forced_open": ("åbnet med magt", "forced open"),
    "ajar": ("stod åben", "ajar"),
    "lock": ("låsning", "locking"),
    "unlock": ("oplåsning", "unlocking"),
}


def _detail(key: str, value: str) -> Pair | None:
    """One ``key=value`` a door writes with an event, in words."""
    state = _STATES.get(value, (value, value))
    number = value.lstrip("-").isdigit()
    if key == "battery" and number:
        return (f"batteri {value} %", f"battery {value}%")
    if key == "offset_ms" and number:
        off = f"{int(value) / 1000:+.1f}"
        return (f"uret gik {off.replace('.', ',')} s forkert", f"the clock was {off} s off")
    if key == "after_s" and number:
        return (f"efter {value} s", f"after {value} s")
    if key == "suppressed" and number:
        return (f"{value} afvisninger lagt sammen", f"{value} refusals taken together")
    if key == "state":
        return (f"låsen var {state[0]}", f"the lock was {state[1]}")
    if key == "alarm":
        return (f"alarmen sluttede: {state[0]}", f"the alarm ended: {state[1]}")
    if key == "interrupted":
        return (f"strømmen gik under {state[0]}", f"power was lost while {state[1]}")
    return None


def _details(code: str) -> Pair | None:
    """What a door writes with an event (``battery=15``, ``corrected,offset_ms=-1200``,
    ``online:bad_signature``, ``v12``), in words; None when a part has none."""
    if code.startswith("online:"):
        inner = reason_pair(code.removeprefix("online:"))
        return None if inner is None else (f"Over nettet: {inner[0]}", f"Online: {inner[1]}")
    if code[:1] == "v" and code[1:].isdigit():
        return (f"Spærreliste version {code[1:]}", f"Denylist version {code[1:]}")
    parts: list[Pair] = []
    for bit in code.split(","):
        key, sep, value = bit.partition("=")
        pair = _detail(key, value) if sep else REASONS.get(bit)
        if pair is None:
            return None
        parts.append(pair)
    if not parts:
        return None
    da, en = "; ".join(p[0] for p in parts), "; ".join(p[1] for p in parts)
    return (da[:1].upper() + da[1:], en[:1].upper() + en[1:])


def reason_pair(code: str | None, action: e.AuditAction | str | None = None) -> Pair | None:
    """Why, in Danish and English: for a ``wiped`` event why the app deleted its keys, else a
    refusal or revocation reason, or what the door wrote with the event. None for no reason, or
    a code without words."""
    if not code:
        return None
    if action == e.AuditAction.WIPED and code in WIPE_REASONS:
        return WIPE_REASONS[code]
    return REASONS.get(code) or _details(code)


def reason_label(
    code: str | None, action: e.AuditAction | str | None = None, language: str | None = None
) -> str:
    """Why, in words ("" for no reason)."""
    if not code:
        return ""
    pair = reason_pair(code, action)
    return in_language(pair, language) if pair else code


def source_label(source: e.AuditSource | str, language: str | None = None) -> str:
    """Where an event came from, in words."""
    pair = SOURCES.get(e.AuditSource(source))
    return in_language(pair, language) if pair else str(source)


def flag_label(flag: str, language: str | None = None) -> str:
    """What is wrong with an event's place in its door's chain, in words."""
    pair = FLAGS.get(flag)
    return in_language(pair, language) if pair else flag


def door_kind_label(kind: e.DoorKind | str | None, language: str | None = None) -> str:
    """The kind of door, in words ("" for none)."""
    if not kind:
        return ""
    pair = DOOR_KINDS.get(e.DoorKind(kind))
    return in_language(pair, language) if pair else str(kind)


def template_helpers() -> dict[str, object]:
    """The functions above under the names templates call them by."""
    return {
        "admin_action_label": admin_action_label,
        "audit_action_label": audit_action_label,
        "reason_label": reason_label,
        "source_label": source_label,
        "flag_label": flag_label,
    }
