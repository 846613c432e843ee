"""online entrance and gate controllers (issue 17)

- door devices: ``online_status`` (None: never online; ``online`` / ``offline``), when the door
  was last heard on the broker, the time of its last signed report (the replay rule) and the
  broker connection that report came on (an older connection's last will is ignored);
- ``online_refusal``: what the broker carried that the server refused (forged, replayed or
  unknown door reports).

Revision ID: 0007
Revises: 0006
Create Date: 2027-05-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import carekey.store.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = carekey.store.types.UTCDateTime(timezone=True)
_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("door_device") as batch:
        batch.add_column(sa.Column("online_status", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("last_heard_at", _TIME, nullable=True))
        batch.add_column(sa.Column("last_report_ms", _BIG, nullable=True))
        batch.add_column(sa.Column("online_connection", sa.LargeBinary(length=8), nullable=True))
    op.create_table(
        "online_refusal",
        sa.Column("id", _BIG, nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=True),
        sa.Column("door_device_id", sa.Integer(), nullable=True),
        sa.Column("topic", sa.String(length=256), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_online_refusal_municipality_id_municipality"),
        ),
        sa.ForeignKeyConstraint(
            ["door_device_id"],
            ["door_device.id"],
            name=op.f("fk_online_refusal_door_device_id_door_device"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_online_refusal")),
    )
    op.create_index(
        "ix_online_refusal_municipality_at", "online_refusal", ["municipality_id", "at"]
    )
    op.create_index(op.f("ix_online_refusal_door_device_id"), "online_refusal", ["door_device_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_online_refusal_door_device_id"), table_name="online_refusal")
    op.drop_index("ix_online_refusal_municipality_at", table_name="online_refusal")
    op.drop_table("online_refusal")
    with op.batch_alter_table("door_device") as batch:
        batch.drop_column("online_connection")
        batch.drop_column("last_report_ms")
        batch.drop_column("last_heard_at")
        batch.drop_column("online_status")
