"""door states and alarms, events a door dropped (issue 13)

The door's bolt (``lock_state``) and leaf (``door_state``) as its signed events show them, the
count of events it evicted before a phone read them (``events_dropped``), and three new audit
actions: ``forced_open``, ``door_ajar``, ``door_closed``.

Revision ID: 0004
Revises: 0003
Create Date: 2027-02-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIONS_0003 = (
    "unlocked",
    "locked",
    "refused",
    "relay_pulsed",
    "manual_turn",
    "auto_relocked",
    "jammed",
    "low_battery",
    "power_loss",
    "time_set",
    "denylist_updated",
    "configured",
    "login",
    "logout",
    "wiped",
    "power_restored",
    "log_overflow",
    "rate_limited",
)
_ACTIONS_0004 = (*_ACTIONS_0003, "forced_open", "door_ajar", "door_closed")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _set_actions(values: Sequence[str]) -> None:
    name = op.f("ck_audit_event_action")
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_constraint(name, type_="check")
        batch.create_check_constraint(name, _in("action", values))


def upgrade() -> None:
    with op.batch_alter_table("door_device") as batch:
        batch.add_column(
            sa.Column(
                "lock_state",
                sa.Enum(
                    "locked",
                    "unlocked",
                    "jammed",
                    "unknown",
                    name="lock_state",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=True,
            )
        )
        batch.add_column(
            sa.Column(
                "door_state",
                sa.Enum(
                    "closed",
                    "open",
                    "ajar",
                    "forced_open",
                    name="door_state",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=True,
            )
        )
        batch.add_column(
            sa.Column(
                "events_dropped",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                server_default="0",
                nullable=False,
            )
        )
    _set_actions(_ACTIONS_0004)


def downgrade() -> None:
    op.execute(
        sa.text(
            "DELETE FROM audit_event WHERE action IN ('forced_open', 'door_ajar', 'door_closed')"
        )
    )
    _set_actions(_ACTIONS_0003)
    with op.batch_alter_table("door_device") as batch:
        batch.drop_constraint(op.f("ck_door_device_door_state"), type_="check")
        batch.drop_constraint(op.f("ck_door_device_lock_state"), type_="check")
        batch.drop_column("events_dropped")
        batch.drop_column("door_state")
        batch.drop_column("lock_state")
