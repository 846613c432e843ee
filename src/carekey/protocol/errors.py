"""Refusals of the door protocol, each with a stable machine code and a Danish + English message.

Doors log the ``code`` of every refusal, the server stores it, and apps translate it; the code
strings are therefore part of the protocol and never change meaning. Messages are for people.
"""

from __future__ import annotations

from typing import Final

# code -> (Danish, English). Codes are stable; add new ones, never rename.
MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "malformed": ("Beskeden kunne ikke læses.", "The message could not be decoded."),
    "oversized": ("Beskeden er for stor.", "The message is too large."),
    "bad_signature": ("Signaturen er ugyldig.", "The signature is invalid."),
    "unknown_issuer_key": (
        "Nøglen er udstedt med en ukendt udstedernøgle.",
        "The key was issued with an unknown issuer key.",
    ),
    "retired_issuer_key": (
        "Udstedernøglen er udfaset.",
        "The issuer key has been retired.",
    ),
    "unsupported_algorithm": (
        "Algoritmen understøttes ikke.",
        "The algorithm is not supported.",
    ),
    "expired": ("Nøglen er udløbet.", "The key has expired."),
    "not_yet_valid": ("Nøglen er ikke gyldig endnu.", "The key is not valid yet."),
    "validity_too_long": (
        "Nøglens gyldighed er længere end tilladt (9 timer).",
        "The key's validity is longer than allowed (9 hours).",
    ),
    "time_unknown": (
        "Låsen kender ikke tiden; tidsbegrænsede nøgler afvises.",
        "The lock does not know the time; time-limited keys are refused.",
    ),
    "outside_window": (
        "Nøglen gælder ikke på dette tidspunkt.",
        "The key is not valid at this time of day.",
    ),
    "wrong_door": ("Nøglen gælder ikke for denne dør.", "The key is not for this door."),
    "wrong_kind": (
        "Nøglen må ikke åbne denne type dør.",
        "The key may not open this kind of door.",
    ),
    "partner_home_door": (
        "Samarbejdspartnere kan ikke få nøgle til en hjemmedør.",
        "Partners cannot be given a key to a home door.",
    ),
    "denylisted": ("Nøglen er spærret.", "The key is blocked."),
    "door_withdrawn": (
        "Døren er taget ud af ordningen; kun en montør kan åbne den.",
        "This door has been withdrawn from the scheme; only an installer can open it.",
    ),
    "bad_proof": (
        "Nøglens bevis for denne dør er ugyldigt.",
        "The key's proof for this door is invalid.",
    ),
    "old_serial": (
        "En nyere nøgle er allerede brugt ved denne dør.",
        "A newer key has already been used at this door.",
    ),
    "stale_denylist": (
        "Spærrelisten er ældre end den, låsen har.",
        "The denylist is older than the one the lock holds.",
    ),
    "bad_delta_base": (
        "Spærrelisteopdateringen passer ikke til låsens version.",
        "The denylist update does not apply to the lock's version.",
    ),
    "denylist_full": ("Spærrelisten er fuld.", "The denylist is full."),
    "stale_time_token": (
        "Tidsbeskeden er for gammel.",
        "The time token is too old.",
    ),
    "time_token_not_newer": (
        "Tidsbeskeden er ikke nyere end låsens tid.",
        "The time token is not newer than the lock's time.",
    ),
    "wrong_nonce": (
        "Tidsbeskeden svarer ikke på låsens udfordring.",
        "The time token does not answer the lock's challenge.",
    ),
    "challenge_required": (
        "Låsen kender ikke tiden og kræver en frisk tidsbesked.",
        "The lock does not know the time and needs a fresh time token.",
    ),
    "invalid_argument": ("Ugyldigt input.", "Invalid input."),
    "invalid_windows": ("Ugyldige tidsvinduer.", "Invalid time windows."),
    "unknown_time_zone": ("Ukendt tidszone.", "Unknown time zone."),
    "wrong_issuer": (
        "Udstederen passer ikke til udstedernøglen.",
        "The issuer does not match the issuer key.",
    ),
    "bad_event_chain": ("Hændelsesloggen er brudt.", "The event log chain is broken."),
    "freshness_missing": (
        "Telefonen har ikke et friskhedsbevis fra serveren.",
        "The phone has no proof of freshness from the server.",
    ),
    "freshness_expired": (
        "Telefonens friskhedsbevis er udløbet; den skal have kontakt til serveren.",
        "The phone's proof of freshness has expired; it must reach the server.",
    ),
    "freshness_not_yet_valid": (
        "Telefonens friskhedsbevis er ikke gyldigt endnu.",
        "The phone's proof of freshness is not valid yet.",
    ),
    "freshness_wrong_phone": (
        "Friskhedsbeviset tilhører en anden telefon.",
        "The proof of freshness belongs to another phone.",
    ),
    "freshness_too_long": (
        "Friskhedsbeviset gælder længere end tilladt.",
        "The proof of freshness is valid for longer than allowed.",
    ),
    "implausible_time": (
        "Tidsbeskeden ligger urimeligt langt ude i fremtiden for låsen.",
        "The time token is implausibly far in the future for the lock.",
    ),
    "not_permitted": (
        "Denne nøgle må ikke læse dørens log eller ændre den.",
        "This key may not read or change the door's log.",
    ),
    "partner_issuer_misuse": (
        "Partnerudstedernøglen må kun underskrive samarbejdspartneres nøgler til opgange og porte.",
        "The partner issuer key may only sign partners' keys to entrances and gates.",
    ),
    "not_supported": (
        "Denne dør understøtter ikke denne indstilling.",
        "This door does not support the setting.",
    ),
    "denylist_required": (
        "Låsen mangler den spærreliste, telefonen har set; telefonen skal sende den.",
        "The lock lacks the denylist the phone has seen; the phone must send it.",
    ),
    "session_timeout": (
        "Forbindelsen til låsen varede for længe; prøv igen.",
        "The session with the lock took too long; try again.",
    ),
    "internal_error": (
        "Låsen kunne ikke behandle beskeden; prøv igen.",
        "The lock could not process the message; try again.",
    ),
    # Online controllers (protocol/online.py): messages over the MQTT broker.
    "stale_command": (
        "Beskeden fra serveren er for gammel eller for ny til dørens ur.",
        "The server's message is too old or too new for the door's clock.",
    ),
    "command_replayed": (
        "Beskeden fra serveren er allerede modtaget (genafspillet).",
        "The server's message was already received (replayed).",
    ),
    "unknown_command": ("Døren kender ikke kommandoen.", "The door does not know the command."),
    "report_replayed": (
        "Dørens melding er ikke nyere end den sidste (genafspillet).",
        "The door's report is not newer than the last one (replayed).",
    ),
    "report_time_off": (
        "Dørens melding har et tidspunkt langt fra serverens ur.",
        "The door's report carries a time far from the server's clock.",
    ),
    "unknown_report": ("Serveren kender ikke meldingen.", "The server does not know the report."),
}


class ProtocolError(Exception):
    """A refusal with a stable ``code`` (logged by doors) and a Danish + English message."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        self.code: str = code
        da, en = MESSAGES.get(code, ("Protokolfejl.", "Protocol error."))
        self.message_da: str = da
        self.message_en: str = en
        self.detail: str | None = detail
        text = f"{code}: {en} / {da}"
        if detail:
            text = f"{text} ({detail})"
        super().__init__(text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.detail!r})"


class DecodeError(ProtocolError):
    """Untrusted bytes that are not a well-formed, bounded message (``malformed``/``oversized``)."""


class SignatureError(ProtocolError):
    """A signature that does not verify, or a key the verifier does not trust."""


class ValidityError(ProtocolError):
    """A well-formed, authentic object refused by policy: time, door, kind, denylist, serial."""


class IssueError(ProtocolError):
    """The server refuses to issue (e.g. a partner key for a home door, validity over 9 hours)."""
