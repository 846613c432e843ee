"""Issue 18, acceptance 4: every action, reason and error code the audit log, the log of
administrative actions and the exports can hold reaches a person in words, in Danish and in
English.

The codes are not listed here: they are collected from where they are made (the enums, the
protocol's and the door firmware's refusals, the key app's reasons, the MQTT broker's refusals,
and every ``record_admin_action`` call in ``src``, see ``tests.audit.codes``), and rendered
through the functions the pages and the exports use (``adminui.codes``, ``adminui.pages.labels``,
``AuditRow.to_csv`` / ``to_json``).
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from carekey.adminui import codes, i18n
from carekey.adminui import pages as ui
from carekey.audit.service import AuditRow
from carekey.devices.hardware import DoorState, LeafAlarm
from carekey.domain import enums as e
from carekey.protocol.errors import MESSAGES
from tests.audit.codes import SRC, admin_action_codes

CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def _calls(folder: Path) -> Iterator[tuple[Path, ast.Call]]:
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                yield path, node


def _name(call: ast.Call) -> str:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return ""


def _strings(expr: ast.expr | None) -> list[str]:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return [expr.value]
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "str":
        return [s for a in expr.args for s in _strings(a)]
    if isinstance(expr, ast.BoolOp):
        return [s for value in expr.values for s in _strings(value)]
    if isinstance(expr, ast.IfExp):
        return _strings(expr.body) + _strings(expr.orelse)
    return []


def refusal_codes() -> set[str]:
    """Every refusal a door, the protocol or the phone-side driver raises (``SomeError("code")``),
    and every code with a protocol message."""
    found = set(MESSAGES)
    for part in ("protocol", "devices", "link"):
        for _path, call in _calls(SRC / part):
            if _name(call).endswith("Error") and call.args:
                found.update(s for s in _strings(call.args[0]) if CODE.match(s))
    return found


def app_reasons() -> tuple[set[str], set[str]]:
    """(reasons of the key app's ``refused`` events, reasons of its ``wiped`` events)."""
    refused: set[str] = set()
    wiped: set[str] = set()
    for _path, call in _calls(SRC / "app"):
        name = _name(call)
        if name == "add_app_event" and call.args:
            kind = _strings(call.args[0])
            reason = next((k.value for k in call.keywords if k.arg == "reason"), None)
            (wiped if kind == ["wiped"] else refused).update(_strings(reason))
        elif name in ("wipe", "_keys_deleted") and call.args:
            wiped.update(_strings(call.args[0]))
    tree = ast.parse((SRC / "app" / "service.py").read_text())
    for node in ast.walk(tree):
        # reason = {"wallet.wiped_wrong_codes": "wrong_codes", ...}: the wallet's own wipes
        named = isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "reason" for t in node.targets
        )
        if named and isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            wiped.update(s for v in node.value.values if v for s in _strings(v))
    return refused, wiped


def _sample(expr: ast.expr | None) -> list[str]:
    """The strings ``expr`` can be, with every hole of an f-string filled with ``1``."""
    if isinstance(expr, ast.Subscript):  # f"online:{code}"[:64]
        return _sample(expr.value)
    if isinstance(expr, ast.JoinedStr):
        return ["".join(str(p.value) if isinstance(p, ast.Constant) else "1" for p in expr.values)]
    return _strings(expr)


def door_event_reasons() -> set[str]:
    """What a door writes with an event of its own (``battery=15``, ``online:…``, ``locked``),
    holes filled with ``1``; a bare variable is a refusal code, checked above."""
    found: set[str] = set()
    for _path, call in _calls(SRC / "devices"):
        for keyword in call.keywords:
            if keyword.arg == "reason":
                found.update(_sample(keyword.value))
    return found


def broker_refusals() -> set[str]:
    """Every code the server gives a message it refused on the MQTT broker."""
    found: set[str] = set()
    for _path, call in _calls(SRC / "online"):
        if _name(call) == "_refuse":
            for keyword in call.keywords:
                if keyword.arg == "code":
                    found.update(_strings(keyword.value))
    return found


def server_reasons() -> set[str]:
    """The default reasons the server stores with a door's event (``ingest``)."""
    found: set[str] = set()
    tree = ast.parse((SRC / "ingest" / "service.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple) and len(node.elts) == 2:
            found.update(s for s in _strings(node.elts[1]) if CODE.match(s))
    return found


def _check(code: str, da: str, en: str, *, same_allowed: bool = False) -> list[str]:
    wrong = []
    if not da.strip() or not en.strip():
        wrong.append(f"{code}: empty ({da!r}, {en!r})")
    if da == code or en == code:
        wrong.append(f"{code}: shown raw ({da!r}, {en!r})")
    if da == en and not same_allowed:
        wrong.append(f"{code}: the English is the Danish ({da!r})")
    return wrong


def _both(render: object, *args: object) -> tuple[str, str]:
    assert callable(render)
    return str(render(*args, language="da")), str(render(*args, language="en"))


# --- the audit log ----------------------------------------------------------------------------


def test_every_audit_action_has_words() -> None:
    wrong = []
    for action in e.AuditAction:
        da, en = _both(codes.audit_action_label, action)
        wrong += _check(action.value, da, en)
    assert wrong == []


def test_every_refusal_reason_has_words() -> None:
    found = refusal_codes() | broker_refusals() | server_reasons() | app_reasons()[0]
    assert {"denylisted", "unreachable", "unknown_topic", "weak_key"} <= found  # the scan works
    wrong = []
    for code in sorted(found):
        da, en = _both(codes.reason_label, code, e.AuditAction.REFUSED)
        wrong += _check(code, da, en)
    assert wrong == [], wrong


def test_what_a_door_writes_with_an_event_has_words() -> None:
    found = door_event_reasons()
    assert {"locked", "battery=1", "online:1", "after_s=1"} <= found  # the scan works
    found |= {"corrected,offset_ms=-1200", "v12", "online:bad_signature"}
    found |= {f"state={s.value}" for s in DoorState} | {f"alarm={a.value}" for a in LeafAlarm}
    found |= {"interrupted=lock", "interrupted=unlock"}
    found.discard("online:1")  # online:<refusal code>: the codes are checked above
    wrong = []
    for code in sorted(found):
        action = e.AuditAction.LOCKED
        da, en = _both(codes.reason_label, code, action)
        wrong += _check(code, da, en)
        for word in ("=", "_"):
            if word in da or word in en:
                wrong.append(f"{code}: still a code in it ({da!r}, {en!r})")
    assert wrong == [], wrong


def test_every_wipe_reason_has_words() -> None:
    wiped = app_reasons()[1]
    assert {"wrong_codes", "logout", "session_expired", "blocked"} <= wiped  # the scan works
    wrong = []
    for code in sorted(wiped):
        da, en = _both(codes.reason_label, code, e.AuditAction.WIPED)
        wrong += _check(code, da, en)
    assert wrong == [], wrong


def test_every_revocation_reason_has_words() -> None:
    wrong = []
    for reason in e.DenylistReason:
        da, en = _both(codes.reason_label, reason.value)
        wrong += _check(reason.value, da, en)
    assert wrong == []


def test_sources_flags_and_kinds_have_words() -> None:
    wrong = []
    for source in e.AuditSource:
        da, en = _both(codes.source_label, source)
        wrong += _check(
            f"source {source.value}", da, en, same_allowed=(da, en) in codes.SAME_IN_BOTH
        )
    for flag in codes.FLAGS:
        da, en = _both(codes.flag_label, flag)
        wrong += _check(flag, da, en)
    for kind in e.DoorKind:
        da, en = _both(codes.door_kind_label, kind)
        wrong += _check(kind.value, da, en)
    assert wrong == []


def _row(action: e.AuditAction, reason: str | None) -> AuditRow:
    return AuditRow(
        id=1,
        occurred_at=dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC),
        source=e.AuditSource.DOOR,
        action=action,
        reason_code=reason,
        employee_id=None,
        employee_name=None,
        employee_number=None,
        partner_company_id=None,
        partner_company=None,
        citizen_id=None,
        citizen_name=None,
        door_device_id=1,
        door_serial="HL-1",
        door_kind=e.DoorKind.HOME_LOCK,
        address=None,
        door_seq=1,
        chain_gap=True,
        chain_broken=True,
    )


def test_the_export_and_the_api_carry_words_for_every_code() -> None:
    refused, wiped = app_reasons()
    cases = [(a, None) for a in e.AuditAction]
    cases += [(e.AuditAction.REFUSED, c) for c in sorted(refusal_codes() | refused)]
    cases += [(e.AuditAction.WIPED, c) for c in sorted(wiped)]
    wrong = []
    for action, reason in cases:
        row = _row(action, reason)
        da, en = row.to_csv("da"), row.to_csv("en")
        # Handling, Årsag, Dørtype, Kilde (the English word for a door is its code)
        for index in (2, 3, 9, 11):
            raw = {2: action.value, 3: reason or "", 9: "home_lock", 11: "door"}[index]
            if raw and (da[index] == raw or (en[index] == raw and index != 11)):
                wrong.append(f"{action.value}/{reason}: cell {index} raw ({da[index]!r})")
        for flags in (da[13], en[13]):  # Markeringer
            assert "chain_" not in flags
            assert flags
        body = row.to_json()
        if reason and (not body["reason"] or body["reason"] == reason or not body["reason_en"]):
            wrong.append(f"{reason}: API reason {body['reason']!r} / {body['reason_en']!r}")
    assert wrong == [], wrong


# --- the log of administrative actions --------------------------------------------------------


def test_every_admin_action_code_in_src_is_found() -> None:
    found = admin_action_codes()
    assert found.unresolved == [], (
        "record_admin_action with an action the scan cannot follow; write the code as a literal "
        f"(or a helper's parameter given literals): {found.unresolved}"
    )
    # The scan sees literals, helpers' parameters and f-strings over them.
    assert {"phone.enrolled", "webhook.created", "work_order.signed_off"} <= set(found.codes)


@pytest.mark.parametrize("language", ["da", "en"])
def test_every_admin_action_has_words_on_the_pages(language: str) -> None:
    token = i18n.use_language(language)
    try:
        shown = ui.labels()["action"]
    finally:
        i18n.reset_language(token)
    wrong = []
    for code, where in sorted(admin_action_codes().codes.items()):
        if not CODE.match(code.replace(".", "_")):
            wrong.append(f"{code} ({where}): not a code")
        text = shown.get(code, code)
        if not text.strip() or text == code:
            wrong.append(f"{code} ({where}) has no words in {language}")
    assert wrong == [], wrong


def test_every_admin_action_has_danish_and_english() -> None:
    wrong = []
    for code, where in sorted(admin_action_codes().codes.items()):
        da, en = _both(codes.admin_action_label, code)
        wrong += [f"{w} ({where})" for w in _check(code, da, en)]
    assert wrong == [], wrong


def test_the_words_follow_the_language_of_the_request() -> None:
    token = i18n.use_language("en")
    try:
        assert codes.admin_action_label("phone.enrolled") == "Phone enrolled in the key app"
        assert codes.reason_label("unreachable") == "The phone could not reach the door."
    finally:
        i18n.reset_language(token)
    assert codes.admin_action_label("phone.enrolled") == "Telefon tilmeldt nøgleappen"
    assert codes.reason_label("phone_blocked") == "Telefonen er spærret"


def test_the_check_catches_a_raw_code() -> None:
    assert _check("x.y", "x.y", "X") != []
    assert _check("x.y", "Gjort", "Gjort") != []
    assert _check("x.y", "", "Done") != []
    assert codes.admin_action_label("nobody.knows", language="en") == "nobody.knows"


# --- domain errors -----------------------------------------------------------------------------


def _domain_errors() -> Iterator[tuple[str, str, str, str]]:
    """(where, code, Danish, English) of every domain error raised with literal texts."""
    for path, call in _calls(SRC):
        if "migrations" in path.parts or not _name(call).endswith("Error"):
            continue
        texts = [a for a in call.args[:3] if isinstance(a, ast.Constant)]
        if len(call.args) >= 3 and len(texts) == 3 and all(isinstance(t.value, str) for t in texts):
            code, da, en = (str(t.value) for t in texts)
            if "." in code:
                yield f"{path.relative_to(SRC.parent)}:{call.lineno}", code, da, en


def test_every_domain_error_says_it_in_both_languages() -> None:
    found = list(_domain_errors())
    assert len(found) > 50  # the scan sees them
    wrong = []
    for where, code, da, en in found:
        if not da.strip() or not en.strip() or da == en:
            wrong.append(f"{where} {code}: ({da!r}, {en!r})")
    assert wrong == [], wrong


# --- the other stored codes pages show -------------------------------------------------------


@pytest.mark.parametrize("language", ["da", "en"])
def test_every_status_role_and_webhook_code_on_the_pages_has_words(language: str) -> None:
    from carekey.webhooks import pages as webhook_pages
    from carekey.webhooks.service import WebhookEventType

    token = i18n.use_language(language)
    try:
        shown = ui.labels()
        wrong = [
            f"{kind} {code}"
            for kind, enum in (
                ("status", e.EmployeeStatus),
                ("status", e.PhoneStatus),
                ("status", e.CitizenStatus),
                ("role", e.Role),
                ("door", e.DoorKind),
                ("work_order", e.WorkOrderStatus),
            )
            for code in (member.value for member in enum)
            # in English a status may rightly be its code ("active"): it must be there
            if code not in shown[kind]
            or not shown[kind][code].strip()
            or (language == "da" and shown[kind][code] == code)
        ]
        wrong += [
            f"webhook {t.value}"
            for t in WebhookEventType
            if webhook_pages.type_label(t.value) == t.value
        ]
    finally:
        i18n.reset_language(token)
    assert wrong == [], wrong
