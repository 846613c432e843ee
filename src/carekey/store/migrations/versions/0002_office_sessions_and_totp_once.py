"""office sessions that sign-out ends, and TOTP codes accepted once

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import carekey.store.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("employee") as batch:
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.create_table(
        "office_session",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["employee.id"], name=op.f("fk_office_session_employee_id_employee")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office_session")),
    )
    op.create_index(
        op.f("ix_office_session_employee_id"), "office_session", ["employee_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_office_session_employee_id"), table_name="office_session")
    op.drop_table("office_session")
    with op.batch_alter_table("employee") as batch:
        batch.drop_column("totp_last_step")
