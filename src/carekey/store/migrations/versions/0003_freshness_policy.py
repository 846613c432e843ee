"""proof of freshness: the municipality's policy and each phone's last proof expiry (issue 12)

Revision ID: 0003
Revises: 0002
Create Date: 2027-01-15
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import carekey.store.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("municipality") as batch:
        batch.add_column(
            sa.Column("freshness_lifetime_s", sa.Integer(), server_default="3300", nullable=False)
        )
        batch.add_column(
            sa.Column("seal_after_s", sa.Integer(), server_default="180", nullable=False)
        )
        batch.add_column(
            sa.Column("freshness_warn_s", sa.Integer(), server_default="900", nullable=False)
        )
        batch.create_check_constraint(
            op.f("ck_municipality_freshness_range"), "freshness_lifetime_s BETWEEN 300 AND 7200"
        )
        batch.create_check_constraint(
            op.f("ck_municipality_seal_after_range"), "seal_after_s BETWEEN 30 AND 1800"
        )
        batch.create_check_constraint(
            op.f("ck_municipality_freshness_warn_range"),
            "freshness_warn_s >= 0 AND freshness_warn_s < freshness_lifetime_s",
        )
    with op.batch_alter_table("phone") as batch:
        batch.add_column(
            sa.Column(
                "freshness_expires_at",
                carekey.store.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("phone") as batch:
        batch.drop_column("freshness_expires_at")
    with op.batch_alter_table("municipality") as batch:
        batch.drop_constraint(op.f("ck_municipality_freshness_warn_range"), type_="check")
        batch.drop_constraint(op.f("ck_municipality_seal_after_range"), type_="check")
        batch.drop_constraint(op.f("ck_municipality_freshness_range"), type_="check")
        batch.drop_column("freshness_warn_s")
        batch.drop_column("seal_after_s")
        batch.drop_column("freshness_lifetime_s")
