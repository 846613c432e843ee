"""What the employee should do about a refusal, and what the app says when the keys are
needed at the door: plain words, Danish first, English second."""

from __future__ import annotations

from typing import Final

# What to do about a refusal, in plain words (Danish, English).
ADVICE: Final[dict[str, tuple[str, str]]] = {
    "expired": ("Log ind igen for at få nye nøgler.", "Log in again to get new keys."),
    "not_yet_valid": ("Vent lidt, eller log ind igen.", "Wait a moment, or log in again."),
    "wrong_door": (
        "Døren er ikke i dine nøgler. Ring til kontoret, hvis du skal ind (akutnøgle).",
        "This door is not in your keys. Call the office if you need to get in (emergency key).",
    ),
    "door_withdrawn": (
        "Borgeren er ikke længere tilknyttet løsningen. Kontakt kontoret.",
        "The citizen is no longer in the solution. Contact the office.",
    ),
    "denylisted": (
        "Din adgang er spærret. Kontakt din leder.",
        "Your access is blocked. Contact your manager.",
    ),
    "time_unknown": (
        "Låsen har mistet tiden. Gå et sted med dækning og prøv igen, så appen kan give den tiden.",
        "The lock has lost its time. Find coverage and try again so the app can give it the time.",
    ),
    "challenge_required": (
        "Låsen har mistet tiden. Gå et sted med dækning og prøv igen.",
        "The lock has lost its time. Find coverage and try again.",
    ),
    "battery_empty": (
        "Låsens batteri er tomt. Brug den fysiske nøgle og meld det til kontoret.",
        "The lock's battery is empty. Use the physical key and report it to the office.",
    ),
    "jammed": (
        "Låsen sidder fast. Tjek at døren er lukket, og prøv igen.",
        "The lock is jammed. Check that the door is closed and try again.",
    ),
    "rate_limited": (
        "For mange forsøg. Vent et øjeblik og prøv igen.",
        "Too many attempts. Wait a moment and try again.",
    ),
    "freshness_expired": (
        "Find et sted med dækning, så appen kan tjekke ind, og prøv igen.",
        "Find coverage so the app can check in, and try again.",
    ),
    "freshness_missing": (
        "Find et sted med dækning, så appen kan tjekke ind, og prøv igen.",
        "Find coverage so the app can check in, and try again.",
    ),
    "denylist_required": (
        "Find et sted med dækning, så appen kan hente den nyeste spærreliste, og prøv igen.",
        "Find coverage so the app can fetch the newest denylist, and try again.",
    ),
}

WIPED_BEFORE_THE_DOOR = (
    "Serveren har slettet dine nøgler (spærret eller udløbet); døren blev ikke åbnet. "
    "Kontakt din leder.",
    "The server has deleted your keys (blocked or expired); the door was not opened. "
    "Contact your manager.",
)
