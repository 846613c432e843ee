"""the installation lifecycle (issue 16)

- consent: how it was given (``method``), who informed the citizen and when, who withdrew it
  and the note of the withdrawal;
- permission requests: who asked, the due date, reminders sent;
- work orders: the new status ``signed_off``, what made the order (``trigger``), the service
  kind, who created it, the installer or supplier it is assigned to, the permission a module
  order rests on, material and labour (the old ``cost_ore`` becomes labour; ``cost_ore`` is
  their sum, a CHECK), the checklist, the photo reference and the office's sign-off;
- door devices: the status ``scrapped``, when commissioned and decommissioned.

Downgrade: signed-off orders go back to ``done``, scrapped doors to ``decommissioned``.

Revision ID: 0006
Revises: 0005
Create Date: 2027-04-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

import carekey.store.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ORDER_0005 = ("ordered", "scheduled", "done", "cancelled")
_ORDER_0006 = ("ordered", "scheduled", "done", "signed_off", "cancelled")
_DOOR_0005 = ("stock", "installed", "commissioned", "active", "faulty", "decommissioned")
_DOOR_0006 = (*_DOOR_0005, "scrapped")
_PLACED_0005 = (
    "status IN ('stock', 'decommissioned')"
    " OR dwelling_id IS NOT NULL OR entrance_id IS NOT NULL OR gate_id IS NOT NULL"
)
_PLACED_0006 = (
    "status IN ('stock', 'decommissioned', 'scrapped')"
    " OR dwelling_id IS NOT NULL OR entrance_id IS NOT NULL OR gate_id IS NOT NULL"
)
_COST = "material_ore >= 0 AND labour_ore >= 0 AND cost_ore = material_ore + labour_ore"
_TIME = carekey.store.types.UTCDateTime(timezone=True)
_MONEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _employee_fk(batch: BatchOperations, table: str, column: str) -> None:
    batch.create_foreign_key(op.f(f"fk_{table}_{column}"), "employee", [column], ["id"])


def upgrade() -> None:
    with op.batch_alter_table("consent_record") as batch:
        batch.add_column(
            sa.Column(
                "method",
                _enum("method", "paper_scanned", "digital", "power_of_attorney"),
                server_default=sa.text("'paper_scanned'"),
                nullable=False,
            )
        )
        batch.add_column(sa.Column("informed_by_employee_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("informed_at", _TIME, nullable=True))
        batch.add_column(sa.Column("withdrawn_by_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("withdrawal_note", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("withdrawal_recorded_by_employee_id", sa.Integer(), nullable=True)
        )
        _employee_fk(batch, "consent_record", "informed_by_employee_id")
        _employee_fk(batch, "consent_record", "withdrawal_recorded_by_employee_id")

    with op.batch_alter_table("permission_request") as batch:
        batch.add_column(sa.Column("requested_by_employee_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("due_at", _TIME, nullable=True))
        batch.add_column(
            sa.Column("reminders", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(sa.Column("last_reminded_at", _TIME, nullable=True))
        _employee_fk(batch, "permission_request", "requested_by_employee_id")

    with op.batch_alter_table("work_order") as batch:
        batch.drop_constraint(op.f("ck_work_order_status"), type_="check")
        batch.create_check_constraint(op.f("ck_work_order_status"), _in("status", _ORDER_0006))
        batch.add_column(
            sa.Column(
                "trigger",
                _enum("trigger", "office", "low_battery", "citizen_removed", "consent_withdrawn"),
                server_default=sa.text("'office'"),
                nullable=False,
            )
        )
        batch.add_column(
            sa.Column(
                "service_kind", _enum("service_kind", "battery", "jam", "firmware"), nullable=True
            )
        )
        batch.add_column(sa.Column("permission_request_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("created_by_employee_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("assigned_to_employee_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("supplier", sa.String(length=200), nullable=True))
        batch.add_column(
            sa.Column("material_ore", _MONEY, server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(
            sa.Column("labour_ore", _MONEY, server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(sa.Column("checklist", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("photo_ref", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("signed_off_at", _TIME, nullable=True))
        batch.add_column(sa.Column("signed_off_by_employee_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_work_order_permission_request_id"),
            "permission_request",
            ["permission_request_id"],
            ["id"],
        )
        _employee_fk(batch, "work_order", "created_by_employee_id")
        _employee_fk(batch, "work_order", "assigned_to_employee_id")
        _employee_fk(batch, "work_order", "signed_off_by_employee_id")
        batch.create_index(
            op.f("ix_work_order_assigned_to_employee_id"), ["assigned_to_employee_id"]
        )
    # What was paid before is labour: the old orders had one amount.
    op.execute("UPDATE work_order SET labour_ore = cost_ore, material_ore = 0")
    with op.batch_alter_table("work_order") as batch:
        batch.create_check_constraint(op.f("ck_work_order_cost_is_material_and_labour"), _COST)

    with op.batch_alter_table("door_device") as batch:
        batch.drop_constraint(op.f("ck_door_device_status"), type_="check")
        batch.create_check_constraint(op.f("ck_door_device_status"), _in("status", _DOOR_0006))
        batch.drop_constraint(op.f("ck_door_device_installed_is_placed"), type_="check")
        batch.create_check_constraint(op.f("ck_door_device_installed_is_placed"), _PLACED_0006)
        batch.add_column(sa.Column("commissioned_at", _TIME, nullable=True))
        batch.add_column(sa.Column("decommissioned_at", _TIME, nullable=True))


def downgrade() -> None:
    op.execute("UPDATE door_device SET status = 'decommissioned' WHERE status = 'scrapped'")
    with op.batch_alter_table("door_device") as batch:
        batch.drop_column("decommissioned_at")
        batch.drop_column("commissioned_at")
        batch.drop_constraint(op.f("ck_door_device_installed_is_placed"), type_="check")
        batch.create_check_constraint(op.f("ck_door_device_installed_is_placed"), _PLACED_0005)
        batch.drop_constraint(op.f("ck_door_device_status"), type_="check")
        batch.create_check_constraint(op.f("ck_door_device_status"), _in("status", _DOOR_0005))

    op.execute("UPDATE work_order SET status = 'done' WHERE status = 'signed_off'")
    with op.batch_alter_table("work_order") as batch:
        batch.drop_constraint(op.f("ck_work_order_cost_is_material_and_labour"), type_="check")
        batch.drop_constraint(op.f("ck_work_order_service_kind"), type_="check")
        batch.drop_constraint(op.f("ck_work_order_trigger"), type_="check")
        batch.drop_index(batch.f("ix_work_order_assigned_to_employee_id"))
        for fk in (
            "fk_work_order_signed_off_by_employee_id",
            "fk_work_order_assigned_to_employee_id",
            "fk_work_order_created_by_employee_id",
            "fk_work_order_permission_request_id",
        ):
            batch.drop_constraint(op.f(fk), type_="foreignkey")
        for column in (
            "signed_off_by_employee_id",
            "signed_off_at",
            "photo_ref",
            "checklist",
            "labour_ore",
            "material_ore",
            "supplier",
            "assigned_to_employee_id",
            "created_by_employee_id",
            "permission_request_id",
            "service_kind",
            "trigger",
        ):
            batch.drop_column(column)
        batch.drop_constraint(op.f("ck_work_order_status"), type_="check")
        batch.create_check_constraint(op.f("ck_work_order_status"), _in("status", _ORDER_0005))

    with op.batch_alter_table("permission_request") as batch:
        batch.drop_constraint(
            op.f("fk_permission_request_requested_by_employee_id"), type_="foreignkey"
        )
        for column in ("last_reminded_at", "reminders", "due_at", "requested_by_employee_id"):
            batch.drop_column(column)

    with op.batch_alter_table("consent_record") as batch:
        batch.drop_constraint(op.f("ck_consent_record_method"), type_="check")
        for fk in (
            "fk_consent_record_withdrawal_recorded_by_employee_id",
            "fk_consent_record_informed_by_employee_id",
        ):
            batch.drop_constraint(op.f(fk), type_="foreignkey")
        for column in (
            "withdrawal_recorded_by_employee_id",
            "withdrawal_note",
            "withdrawn_by_name",
            "informed_at",
            "informed_by_employee_id",
            "method",
        ):
            batch.drop_column(column)
