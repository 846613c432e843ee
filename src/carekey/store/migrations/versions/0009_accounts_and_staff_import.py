"""a real municipality's first week (issue 18): set-password links, the municipality's job
title to role table for the staff import, an employee's forced password change and start date,
and issuer keys marked as derived from a seed. Added tables and columns only (no rebuild of an
existing table), so the same steps run on SQLite and PostgreSQL.

Downgrade: the columns and tables are dropped (unused set-password links are lost).

Revision ID: 0009
Revises: 0008
Create Date: 2027-06-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import carekey.store.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_title_role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "care_worker",
                "administrator",
                "district_lead",
                "auditor",
                "installer",
                "association_user",
                "partner_admin",
                "partner_worker",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_job_title_role_municipality_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_title_role")),
        sa.UniqueConstraint(
            "municipality_id", "title", name=op.f("uq_job_title_role_municipality_id_title")
        ),
    )
    with op.batch_alter_table("job_title_role", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_job_title_role_municipality_id"), ["municipality_id"], unique=False
        )

    op.create_table(
        "password_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["employee.id"], name=op.f("fk_password_link_created_by_id")
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["employee.id"], name=op.f("fk_password_link_employee_id")
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_password_link_municipality_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_link_token_hash")),
    )
    with op.batch_alter_table("password_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_password_link_employee_id_used_at"),
            ["employee_id", "used_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_password_link_municipality_id"), ["municipality_id"], unique=False
        )

    with op.batch_alter_table("employee", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("password_must_change", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "password_changed_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("starts_on", sa.Date(), nullable=True))

    with op.batch_alter_table("issuer_key", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seeded", sa.Boolean(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("issuer_key", schema=None) as batch_op:
        batch_op.drop_column("seeded")

    with op.batch_alter_table("employee", schema=None) as batch_op:
        batch_op.drop_column("starts_on")
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("password_must_change")

    with op.batch_alter_table("password_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_password_link_municipality_id"))
        batch_op.drop_index(batch_op.f("ix_password_link_employee_id_used_at"))

    op.drop_table("password_link")
    with op.batch_alter_table("job_title_role", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_title_role_municipality_id"))

    op.drop_table("job_title_role")
