"""the whole domain model

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import carekey.store.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "housing_association",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("cvr", sa.String(length=8), nullable=True),
        sa.Column("contact_email", sa.String(length=200), nullable=True),
        sa.Column("created_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_housing_association")),
        sa.UniqueConstraint("cvr", name=op.f("uq_housing_association_cvr")),
    )
    op.create_table(
        "municipality",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=4), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("key_lifetime_minutes", sa.Integer(), nullable=False),
        sa.Column("heartbeat_interval_s", sa.Integer(), nullable=False),
        sa.Column("emergency_key_max_minutes", sa.Integer(), nullable=False),
        sa.Column("wrong_code_limit", sa.Integer(), nullable=False),
        sa.Column("created_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "emergency_key_max_minutes BETWEEN 1 AND 540",
            name=op.f("ck_municipality_emergency_max"),
        ),
        sa.CheckConstraint(
            "heartbeat_interval_s BETWEEN 10 AND 3600", name=op.f("ck_municipality_heartbeat_range")
        ),
        sa.CheckConstraint(
            "key_lifetime_minutes BETWEEN 1 AND 540",
            name=op.f("ck_municipality_key_lifetime_max_9h"),
        ),
        sa.CheckConstraint(
            "wrong_code_limit BETWEEN 1 AND 20", name=op.f("ck_municipality_wrong_code_limit_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_municipality")),
        sa.UniqueConstraint("code", name=op.f("uq_municipality_code")),
    )
    op.create_table(
        "partner_company",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("cvr", sa.String(length=8), nullable=True),
        sa.Column(
            "category",
            sa.Enum(
                "post",
                "newspaper",
                "parcel",
                "meal_box",
                "pharmacy",
                "advertising",
                name="category",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "blocked",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("blocked_reason", sa.Text(), nullable=True),
        sa.Column("blocked_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_company")),
        sa.UniqueConstraint("cvr", name=op.f("uq_partner_company_cvr")),
    )
    op.create_table(
        "agreement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("housing_association_id", sa.Integer(), nullable=False),
        sa.Column("partner_company_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", carekey.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("requires_errand", sa.Boolean(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("blocked_reason", sa.Text(), nullable=True),
        sa.Column("created_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "valid_until IS NULL OR valid_until > valid_from", name=op.f("ck_agreement_validity")
        ),
        sa.ForeignKeyConstraint(
            ["housing_association_id"],
            ["housing_association.id"],
            name=op.f("fk_agreement_housing_association_id"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_company_id"],
            ["partner_company.id"],
            name=op.f("fk_agreement_partner_company_id"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement")),
    )
    with op.batch_alter_table("agreement", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agreement_housing_association_id"),
            ["housing_association_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_agreement_partner_company_id"), ["partner_company_id"], unique=False
        )

    op.create_table(
        "denylist_entry",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column(
            "entry_kind",
            sa.Enum(
                "credential",
                "device",
                "subject",
                "door",
                name="entry_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("entry_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("added_in_version", sa.Integer(), nullable=False),
        sa.Column("removed_in_version", sa.Integer(), nullable=True),
        sa.Column(
            "reason",
            sa.Enum(
                "phone_blocked",
                "phone_lost",
                "employee_blocked",
                "citizen_removed",
                "partner_blocked",
                "emergency_key_revoked",
                "agreement_ended",
                name="reason",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("expires_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_denylist_entry_municipality_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_denylist_entry")),
        sa.UniqueConstraint(
            "municipality_id",
            "entry_kind",
            "entry_key",
            name=op.f("uq_denylist_entry_municipality_id_entry_kind_entry_key"),
        ),
    )
    with op.batch_alter_table("denylist_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_denylist_entry_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "denylist_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("created_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_denylist_version_municipality_id"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_denylist_version")),
        sa.UniqueConstraint(
            "municipality_id", "version", name=op.f("uq_denylist_version_municipality_id_version")
        ),
    )
    op.create_table(
        "district",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_district_municipality_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_district")),
        sa.UniqueConstraint("id", "municipality_id", name=op.f("uq_district_id_municipality_id")),
        sa.UniqueConstraint(
            "municipality_id", "code", name=op.f("uq_district_municipality_id_code")
        ),
    )
    with op.batch_alter_table("district", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_district_municipality_id"), ["municipality_id"], unique=False
        )

    op.create_table(
        "employee",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("employee_number", sa.String(length=32), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("totp_secret_sealed", sa.LargeBinary(length=128), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "blocked",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("blocked_reason", sa.Text(), nullable=True),
        sa.Column("blocked_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("session_epoch", sa.Integer(), nullable=False),
        sa.Column("created_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_employee_municipality_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employee")),
        sa.UniqueConstraint("id", "municipality_id", name=op.f("uq_employee_id_municipality_id")),
        sa.UniqueConstraint(
            "municipality_id",
            "employee_number",
            name=op.f("uq_employee_municipality_id_employee_number"),
        ),
    )
    with op.batch_alter_table("employee", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_employee_municipality_id"), ["municipality_id"], unique=False
        )

    op.create_table(
        "issuer_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("kid", sa.LargeBinary(length=16), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=64), nullable=False),
        sa.Column("private_key_sealed", sa.LargeBinary(length=256), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "next",
                "active",
                "retired",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("activated_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retired_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_issuer_key_municipality_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issuer_key")),
        sa.UniqueConstraint(
            "municipality_id", "kid", name=op.f("uq_issuer_key_municipality_id_kid")
        ),
    )
    with op.batch_alter_table("issuer_key", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_issuer_key_municipality_id"), ["municipality_id"], unique=False
        )

    op.create_table(
        "partner_staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "blocked",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["partner_company.id"], name=op.f("fk_partner_staff_company_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_staff")),
    )
    with op.batch_alter_table("partner_staff", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_staff_company_id"), ["company_id"], unique=False
        )

    op.create_table(
        "property",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("housing_association_id", sa.Integer(), nullable=True),
        sa.Column("street", sa.String(length=120), nullable=False),
        sa.Column("house_number", sa.String(length=16), nullable=False),
        sa.Column("postal_code", sa.String(length=4), nullable=False),
        sa.Column("city", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["housing_association_id"],
            ["housing_association.id"],
            name=op.f("fk_property_housing_association_id"),
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_property_municipality_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_property")),
        sa.UniqueConstraint(
            "municipality_id",
            "street",
            "house_number",
            "postal_code",
            name=op.f("uq_property_municipality_id_street_house_number_postal_code"),
        ),
    )
    with op.batch_alter_table("property", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_property_housing_association_id"),
            ["housing_association_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_property_municipality_id"), ["municipality_id"], unique=False
        )

    op.create_table(
        "admin_action",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=True),
        sa.Column("actor_employee_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_employee_id"], ["employee.id"], name=op.f("fk_admin_action_actor_employee_id")
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_admin_action_municipality_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_action")),
    )
    with op.batch_alter_table("admin_action", schema=None) as batch_op:
        batch_op.create_index(
            "ix_admin_action_municipality_at", ["municipality_id", "at"], unique=False
        )

    op.create_table(
        "agreement_window",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.CheckConstraint("start_minute < end_minute", name=op.f("ck_agreement_window_not_empty")),
        sa.CheckConstraint(
            "start_minute >= 0 AND end_minute <= 1440", name=op.f("ck_agreement_window_within_day")
        ),
        sa.CheckConstraint(
            "weekday BETWEEN 0 AND 6", name=op.f("ck_agreement_window_weekday_range")
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["agreement.id"], name=op.f("fk_agreement_window_agreement_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_window")),
    )
    with op.batch_alter_table("agreement_window", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agreement_window_agreement_id"), ["agreement_id"], unique=False
        )

    op.create_table(
        "employee_district",
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id", "municipality_id"],
            ["district.id", "district.municipality_id"],
            name=op.f("fk_employee_district_district_id_municipality_id"),
        ),
        sa.ForeignKeyConstraint(
            ["employee_id", "municipality_id"],
            ["employee.id", "employee.municipality_id"],
            name=op.f("fk_employee_district_employee_id_municipality_id"),
        ),
        sa.PrimaryKeyConstraint("employee_id", "district_id", name=op.f("pk_employee_district")),
    )
    with op.batch_alter_table("employee_district", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_employee_district_district_id"), ["district_id"], unique=False
        )

    op.create_table(
        "employee_role",
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "care_worker",
                "administrator",
                "district_lead",
                "auditor",
                "installer",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["employee.id"], name=op.f("fk_employee_role_employee_id")
        ),
        sa.PrimaryKeyConstraint("employee_id", "role", name=op.f("pk_employee_role")),
    )
    op.create_table(
        "entrance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("property_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["property_id"], ["property.id"], name=op.f("fk_entrance_property_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entrance")),
        sa.UniqueConstraint("property_id", "label", name=op.f("uq_entrance_property_id_label")),
    )
    with op.batch_alter_table("entrance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entrance_property_id"), ["property_id"], unique=False)

    op.create_table(
        "gate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("property_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["property_id"], ["property.id"], name=op.f("fk_gate_property_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate")),
        sa.UniqueConstraint("property_id", "label", name=op.f("uq_gate_property_id_label")),
    )
    with op.batch_alter_table("gate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gate_property_id"), ["property_id"], unique=False)

    op.create_table(
        "partner_phone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=128), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "blocked",
                "lost",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("enrolled_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"], ["partner_company.id"], name=op.f("fk_partner_phone_company_id")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["partner_staff.id"], name=op.f("fk_partner_phone_staff_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_phone")),
        sa.UniqueConstraint("public_key", name=op.f("uq_partner_phone_public_key")),
    )
    with op.batch_alter_table("partner_phone", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_phone_company_id"), ["company_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_partner_phone_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "permission_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("housing_association_id", sa.Integer(), nullable=False),
        sa.Column("property_id", sa.Integer(), nullable=False),
        sa.Column("covers_entrances", sa.Boolean(), nullable=False),
        sa.Column("covers_gates", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "requested",
                "granted",
                "refused",
                "withdrawn",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("requested_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_name", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["housing_association_id"],
            ["housing_association.id"],
            name=op.f("fk_permission_request_housing_association_id"),
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_permission_request_municipality_id"),
        ),
        sa.ForeignKeyConstraint(
            ["property_id"], ["property.id"], name=op.f("fk_permission_request_property_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission_request")),
    )
    with op.batch_alter_table("permission_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_permission_request_municipality_id"), ["municipality_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_permission_request_property_id"), ["property_id"], unique=False
        )

    op.create_table(
        "phone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=True),
        sa.Column("public_key", sa.LargeBinary(length=128), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "blocked",
                "lost",
                "wiped",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("blocked_reason", sa.Text(), nullable=True),
        sa.Column("enrolled_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("session_epoch", sa.Integer(), nullable=False),
        sa.Column("bundle_digest", sa.LargeBinary(length=32), nullable=True),
        sa.Column(
            "bundle_expires_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("created_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["employee_id", "municipality_id"],
            ["employee.id", "employee.municipality_id"],
            name=op.f("fk_phone_employee_id_municipality_id"),
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_phone_municipality_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone")),
        sa.UniqueConstraint("id", "municipality_id", name=op.f("uq_phone_id_municipality_id")),
        sa.UniqueConstraint(
            "municipality_id", "label", name=op.f("uq_phone_municipality_id_label")
        ),
        sa.UniqueConstraint("public_key", name=op.f("uq_phone_public_key")),
    )
    with op.batch_alter_table("phone", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_phone_employee_id"), ["employee_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_phone_municipality_id"), ["municipality_id"], unique=False
        )

    op.create_table(
        "dwelling",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entrance_id", sa.Integer(), nullable=False),
        sa.Column("floor", sa.String(length=8), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["entrance_id"], ["entrance.id"], name=op.f("fk_dwelling_entrance_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dwelling")),
        sa.UniqueConstraint(
            "entrance_id", "floor", "side", name=op.f("uq_dwelling_entrance_id_floor_side")
        ),
    )
    with op.batch_alter_table("dwelling", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dwelling_entrance_id"), ["entrance_id"], unique=False)

    op.create_table(
        "enrolment_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("phone_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=128), nullable=False),
        sa.Column("created_by_employee_id", sa.Integer(), nullable=True),
        sa.Column("created_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_employee_id"],
            ["employee.id"],
            name=op.f("fk_enrolment_code_created_by_employee_id"),
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_enrolment_code_municipality_id")
        ),
        sa.ForeignKeyConstraint(
            ["phone_id", "municipality_id"],
            ["phone.id", "phone.municipality_id"],
            name=op.f("fk_enrolment_code_phone_id_municipality_id"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_code")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_enrolment_code_code_hash")),
    )
    with op.batch_alter_table("enrolment_code", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enrolment_code_municipality_id"), ["municipality_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_enrolment_code_phone_id"), ["phone_id"], unique=False)

    op.create_table(
        "errand",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("partner_staff_id", sa.Integer(), nullable=True),
        sa.Column("entrance_id", sa.Integer(), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum(
                "post",
                "newspaper",
                "parcel",
                "meal_box",
                "pharmacy",
                "advertising",
                name="purpose",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("not_before", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("not_after", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "approved",
                "used",
                "cancelled",
                "expired",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("not_after > not_before", name=op.f("ck_errand_validity")),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["agreement.id"], name=op.f("fk_errand_agreement_id")
        ),
        sa.ForeignKeyConstraint(
            ["entrance_id"], ["entrance.id"], name=op.f("fk_errand_entrance_id")
        ),
        sa.ForeignKeyConstraint(
            ["partner_staff_id"], ["partner_staff.id"], name=op.f("fk_errand_partner_staff_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_errand")),
    )
    with op.batch_alter_table("errand", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_errand_agreement_id"), ["agreement_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_errand_entrance_id"), ["entrance_id"], unique=False)

    op.create_table(
        "citizen",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("dwelling_id", sa.Integer(), nullable=True),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "active",
                "paused",
                "removed",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["district_id", "municipality_id"],
            ["district.id", "district.municipality_id"],
            name=op.f("fk_citizen_district_id_municipality_id"),
        ),
        sa.ForeignKeyConstraint(
            ["dwelling_id"], ["dwelling.id"], name=op.f("fk_citizen_dwelling_id")
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_citizen_municipality_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen")),
        sa.UniqueConstraint("id", "municipality_id", name=op.f("uq_citizen_id_municipality_id")),
    )
    with op.batch_alter_table("citizen", schema=None) as batch_op:
        batch_op.create_index("ix_citizen_district_status", ["district_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_citizen_dwelling_id"), ["dwelling_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_citizen_municipality_id"), ["municipality_id"], unique=False
        )

    op.create_table(
        "door_device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "home_lock",
                "entrance_controller",
                "gate_controller",
                name="kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("serial", sa.String(length=32), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=64), nullable=False),
        sa.Column("firmware_version", sa.String(length=32), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "stock",
                "installed",
                "commissioned",
                "active",
                "faulty",
                "decommissioned",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("dwelling_id", sa.Integer(), nullable=True),
        sa.Column("entrance_id", sa.Integer(), nullable=True),
        sa.Column("gate_id", sa.Integer(), nullable=True),
        sa.Column("battery_pct", sa.Integer(), nullable=True),
        sa.Column("clock_offset_ms", sa.Integer(), nullable=True),
        sa.Column("last_seen_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "last_event_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("denylist_version_seen", sa.Integer(), nullable=False),
        sa.Column("installed_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'home_lock' AND entrance_id IS NULL AND gate_id IS NULL) OR (kind = 'entrance_controller' AND dwelling_id IS NULL AND gate_id IS NULL) OR (kind = 'gate_controller' AND dwelling_id IS NULL AND entrance_id IS NULL)",
            name=op.f("ck_door_device_placement_matches_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('stock', 'decommissioned') OR dwelling_id IS NOT NULL OR entrance_id IS NOT NULL OR gate_id IS NOT NULL",
            name=op.f("ck_door_device_installed_is_placed"),
        ),
        sa.CheckConstraint(
            "battery_pct BETWEEN 0 AND 100", name=op.f("ck_door_device_battery_pct_range")
        ),
        sa.ForeignKeyConstraint(
            ["dwelling_id"], ["dwelling.id"], name=op.f("fk_door_device_dwelling_id")
        ),
        sa.ForeignKeyConstraint(
            ["entrance_id"], ["entrance.id"], name=op.f("fk_door_device_entrance_id")
        ),
        sa.ForeignKeyConstraint(["gate_id"], ["gate.id"], name=op.f("fk_door_device_gate_id")),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_door_device_municipality_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_door_device")),
        sa.UniqueConstraint("id", "kind", name=op.f("uq_door_device_id_kind")),
        sa.UniqueConstraint("serial", name=op.f("uq_door_device_serial")),
    )
    with op.batch_alter_table("door_device", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_door_device_dwelling_id"), ["dwelling_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_door_device_entrance_id"), ["entrance_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_door_device_gate_id"), ["gate_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_door_device_municipality_id"), ["municipality_id"], unique=False
        )
        batch_op.create_index(
            "uq_door_device_live_dwelling",
            ["dwelling_id"],
            unique=True,
            sqlite_where=sa.text("status != 'decommissioned'"),
            postgresql_where=sa.text("status != 'decommissioned'"),
        )

    op.create_table(
        "agreement_door",
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("door_device_id", sa.Integer(), nullable=False),
        sa.Column(
            "door_kind",
            sa.Enum(
                "home_lock",
                "entrance_controller",
                "gate_controller",
                name="door_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.CheckConstraint(
            "door_kind IN ('entrance_controller', 'gate_controller')",
            name=op.f("ck_agreement_door_never_home_lock"),
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["agreement.id"], name=op.f("fk_agreement_door_agreement_id")
        ),
        sa.ForeignKeyConstraint(
            ["door_device_id", "door_kind"],
            ["door_device.id", "door_device.kind"],
            name=op.f("fk_agreement_door_door_device_id_door_kind"),
        ),
        sa.PrimaryKeyConstraint("agreement_id", "door_device_id", name=op.f("pk_agreement_door")),
    )
    with op.batch_alter_table("agreement_door", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agreement_door_door_device_id"), ["door_device_id"], unique=False
        )

    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "door",
                "app",
                "server",
                name="source",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "action",
            sa.Enum(
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
                name="action",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("door_device_id", sa.Integer(), nullable=True),
        sa.Column("employee_id", sa.Integer(), nullable=True),
        sa.Column("partner_staff_id", sa.Integer(), nullable=True),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("phone_id", sa.Integer(), nullable=True),
        sa.Column("credential_id", sa.LargeBinary(length=16), nullable=True),
        sa.Column("reason_code", sa.String(length=64), nullable=True),
        sa.Column("occurred_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("door_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("prev_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("event_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=True),
        sa.Column("raw", sa.LargeBinary(length=1024), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=True),
        sa.Column("chain_gap", sa.Boolean(), nullable=False),
        sa.Column("chain_broken", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizen.id"], name=op.f("fk_audit_event_citizen_id")
        ),
        sa.ForeignKeyConstraint(
            ["door_device_id"], ["door_device.id"], name=op.f("fk_audit_event_door_device_id")
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["employee.id"], name=op.f("fk_audit_event_employee_id")
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_audit_event_municipality_id")
        ),
        sa.ForeignKeyConstraint(
            ["partner_staff_id"], ["partner_staff.id"], name=op.f("fk_audit_event_partner_staff_id")
        ),
        sa.ForeignKeyConstraint(["phone_id"], ["phone.id"], name=op.f("fk_audit_event_phone_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
        sa.UniqueConstraint(
            "door_device_id", "door_seq", name=op.f("uq_audit_event_door_device_id_door_seq")
        ),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_audit_event_idempotency_key")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_event_citizen_time", ["citizen_id", "occurred_at"], unique=False
        )
        batch_op.create_index(
            "ix_audit_event_door_time", ["door_device_id", "occurred_at"], unique=False
        )
        batch_op.create_index(
            "ix_audit_event_employee_time", ["employee_id", "occurred_at"], unique=False
        )
        batch_op.create_index(
            "ix_audit_event_municipality_time", ["municipality_id", "occurred_at"], unique=False
        )

    op.create_table(
        "consent_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "installation",
                "restoration",
                name="kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "given_by",
            sa.Enum(
                "citizen",
                "relative",
                "guardian",
                name="given_by",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("given_by_name", sa.String(length=200), nullable=True),
        sa.Column("given_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("document_ref", sa.String(length=200), nullable=True),
        sa.Column("recorded_by_employee_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id", "municipality_id"],
            ["citizen.id", "citizen.municipality_id"],
            name=op.f("fk_consent_record_citizen_id_municipality_id"),
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_consent_record_municipality_id")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_employee_id"],
            ["employee.id"],
            name=op.f("fk_consent_record_recorded_by_employee_id"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_record")),
    )
    with op.batch_alter_table("consent_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_record_citizen_id"), ["citizen_id"], unique=False
        )

    op.create_table(
        "emergency_key_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("granted_by_employee_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("starts_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_employee_id", sa.Integer(), nullable=True),
        sa.Column("created_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_emergency_key_grant_validity")),
        sa.CheckConstraint("length(reason) > 0", name=op.f("ck_emergency_key_grant_reason_given")),
        sa.ForeignKeyConstraint(
            ["citizen_id", "municipality_id"],
            ["citizen.id", "citizen.municipality_id"],
            name=op.f("fk_emergency_key_grant_citizen_id_municipality_id"),
        ),
        sa.ForeignKeyConstraint(
            ["employee_id", "municipality_id"],
            ["employee.id", "employee.municipality_id"],
            name=op.f("fk_emergency_key_grant_employee_id_municipality_id"),
        ),
        sa.ForeignKeyConstraint(
            ["granted_by_employee_id"],
            ["employee.id"],
            name=op.f("fk_emergency_key_grant_granted_by_employee_id"),
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_emergency_key_grant_municipality_id"),
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_employee_id"],
            ["employee.id"],
            name=op.f("fk_emergency_key_grant_revoked_by_employee_id"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_key_grant")),
    )
    with op.batch_alter_table("emergency_key_grant", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_emergency_key_grant_citizen_id"), ["citizen_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_emergency_key_grant_employee_id"), ["employee_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_emergency_key_grant_municipality_id"), ["municipality_id"], unique=False
        )

    op.create_table(
        "work_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "install",
                "restore",
                "service",
                name="kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "ordered",
                "scheduled",
                "done",
                "cancelled",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("dwelling_id", sa.Integer(), nullable=True),
        sa.Column("entrance_id", sa.Integer(), nullable=True),
        sa.Column("gate_id", sa.Integer(), nullable=True),
        sa.Column("door_device_id", sa.Integer(), nullable=True),
        sa.Column("cost_ore", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ordered_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("scheduled_for", carekey.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("performed_by_employee_id", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.CheckConstraint("cost_ore >= 0", name=op.f("ck_work_order_cost_not_negative")),
        sa.CheckConstraint(
            "dwelling_id IS NOT NULL OR entrance_id IS NOT NULL OR gate_id IS NOT NULL OR door_device_id IS NOT NULL",
            name=op.f("ck_work_order_has_place"),
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizen.id"], name=op.f("fk_work_order_citizen_id")
        ),
        sa.ForeignKeyConstraint(
            ["door_device_id"], ["door_device.id"], name=op.f("fk_work_order_door_device_id")
        ),
        sa.ForeignKeyConstraint(
            ["dwelling_id"], ["dwelling.id"], name=op.f("fk_work_order_dwelling_id")
        ),
        sa.ForeignKeyConstraint(
            ["entrance_id"], ["entrance.id"], name=op.f("fk_work_order_entrance_id")
        ),
        sa.ForeignKeyConstraint(["gate_id"], ["gate.id"], name=op.f("fk_work_order_gate_id")),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_work_order_municipality_id")
        ),
        sa.ForeignKeyConstraint(
            ["performed_by_employee_id"],
            ["employee.id"],
            name=op.f("fk_work_order_performed_by_employee_id"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order")),
    )
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_order_citizen_id"), ["citizen_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_work_order_municipality_id"), ["municipality_id"], unique=False
        )

    op.create_table(
        "issued_credential",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("credential_id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("issuer_kid", sa.LargeBinary(length=16), nullable=False),
        sa.Column(
            "subject_type",
            sa.Enum(
                "employee",
                "partner_staff",
                name="subject_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("employee_id", sa.Integer(), nullable=True),
        sa.Column("partner_staff_id", sa.Integer(), nullable=True),
        sa.Column("phone_id", sa.Integer(), nullable=True),
        sa.Column("partner_phone_id", sa.Integer(), nullable=True),
        sa.Column("emergency_grant_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "home",
                "entrance",
                "gate",
                name="kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("serial", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("denylist_version", sa.Integer(), nullable=False),
        sa.Column("door_device_ids", sa.JSON(), nullable=False),
        sa.Column("not_before", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_at", carekey.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(subject_type = 'employee' AND employee_id IS NOT NULL AND partner_staff_id IS NULL) OR (subject_type = 'partner_staff' AND partner_staff_id IS NOT NULL AND employee_id IS NULL)",
            name=op.f("ck_issued_credential_one_subject"),
        ),
        sa.CheckConstraint(
            "subject_type = 'employee' OR kind IN ('entrance', 'gate')",
            name=op.f("ck_issued_credential_homes_staff_only"),
        ),
        sa.CheckConstraint("expires_at > not_before", name=op.f("ck_issued_credential_validity")),
        sa.ForeignKeyConstraint(
            ["emergency_grant_id"],
            ["emergency_key_grant.id"],
            name=op.f("fk_issued_credential_emergency_grant_id"),
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["employee.id"], name=op.f("fk_issued_credential_employee_id")
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_issued_credential_municipality_id"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_phone_id"],
            ["partner_phone.id"],
            name=op.f("fk_issued_credential_partner_phone_id"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_staff_id"],
            ["partner_staff.id"],
            name=op.f("fk_issued_credential_partner_staff_id"),
        ),
        sa.ForeignKeyConstraint(
            ["phone_id"], ["phone.id"], name=op.f("fk_issued_credential_phone_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_credential")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_issued_credential_credential_id")),
    )
    with op.batch_alter_table("issued_credential", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_issued_credential_employee_id"), ["employee_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_issued_credential_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_issued_credential_municipality_id"), ["municipality_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_issued_credential_phone_id"), ["phone_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("issued_credential", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issued_credential_phone_id"))
        batch_op.drop_index(batch_op.f("ix_issued_credential_municipality_id"))
        batch_op.drop_index(batch_op.f("ix_issued_credential_expires_at"))
        batch_op.drop_index(batch_op.f("ix_issued_credential_employee_id"))

    op.drop_table("issued_credential")
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_order_municipality_id"))
        batch_op.drop_index(batch_op.f("ix_work_order_citizen_id"))

    op.drop_table("work_order")
    with op.batch_alter_table("emergency_key_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_emergency_key_grant_municipality_id"))
        batch_op.drop_index(batch_op.f("ix_emergency_key_grant_employee_id"))
        batch_op.drop_index(batch_op.f("ix_emergency_key_grant_citizen_id"))

    op.drop_table("emergency_key_grant")
    with op.batch_alter_table("consent_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_record_citizen_id"))

    op.drop_table("consent_record")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_municipality_time")
        batch_op.drop_index("ix_audit_event_employee_time")
        batch_op.drop_index("ix_audit_event_door_time")
        batch_op.drop_index("ix_audit_event_citizen_time")

    op.drop_table("audit_event")
    with op.batch_alter_table("agreement_door", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_door_door_device_id"))

    op.drop_table("agreement_door")
    with op.batch_alter_table("door_device", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_door_device_live_dwelling",
            sqlite_where=sa.text("status != 'decommissioned'"),
            postgresql_where=sa.text("status != 'decommissioned'"),
        )
        batch_op.drop_index(batch_op.f("ix_door_device_municipality_id"))
        batch_op.drop_index(batch_op.f("ix_door_device_gate_id"))
        batch_op.drop_index(batch_op.f("ix_door_device_entrance_id"))
        batch_op.drop_index(batch_op.f("ix_door_device_dwelling_id"))

    op.drop_table("door_device")
    with op.batch_alter_table("citizen", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_citizen_municipality_id"))
        batch_op.drop_index(batch_op.f("ix_citizen_dwelling_id"))
        batch_op.drop_index("ix_citizen_district_status")

    op.drop_table("citizen")
    with op.batch_alter_table("errand", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_errand_entrance_id"))
        batch_op.drop_index(batch_op.f("ix_errand_agreement_id"))

    op.drop_table("errand")
    with op.batch_alter_table("enrolment_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolment_code_phone_id"))
        batch_op.drop_index(batch_op.f("ix_enrolment_code_municipality_id"))

    op.drop_table("enrolment_code")
    with op.batch_alter_table("dwelling", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dwelling_entrance_id"))

    op.drop_table("dwelling")
    with op.batch_alter_table("phone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_phone_municipality_id"))
        batch_op.drop_index(batch_op.f("ix_phone_employee_id"))

    op.drop_table("phone")
    with op.batch_alter_table("permission_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_permission_request_property_id"))
        batch_op.drop_index(batch_op.f("ix_permission_request_municipality_id"))

    op.drop_table("permission_request")
    with op.batch_alter_table("partner_phone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_phone_staff_id"))
        batch_op.drop_index(batch_op.f("ix_partner_phone_company_id"))

    op.drop_table("partner_phone")
    with op.batch_alter_table("gate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gate_property_id"))

    op.drop_table("gate")
    with op.batch_alter_table("entrance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entrance_property_id"))

    op.drop_table("entrance")
    op.drop_table("employee_role")
    with op.batch_alter_table("employee_district", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_employee_district_district_id"))

    op.drop_table("employee_district")
    with op.batch_alter_table("agreement_window", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_window_agreement_id"))

    op.drop_table("agreement_window")
    with op.batch_alter_table("admin_action", schema=None) as batch_op:
        batch_op.drop_index("ix_admin_action_municipality_at")

    op.drop_table("admin_action")
    with op.batch_alter_table("property", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_property_municipality_id"))
        batch_op.drop_index(batch_op.f("ix_property_housing_association_id"))

    op.drop_table("property")
    with op.batch_alter_table("partner_staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_staff_company_id"))

    op.drop_table("partner_staff")
    with op.batch_alter_table("issuer_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issuer_key_municipality_id"))

    op.drop_table("issuer_key")
    with op.batch_alter_table("employee", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_employee_municipality_id"))

    op.drop_table("employee")
    with op.batch_alter_table("district", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_district_municipality_id"))

    op.drop_table("district")
    op.drop_table("denylist_version")
    with op.batch_alter_table("denylist_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_denylist_entry_expires_at"))

    op.drop_table("denylist_entry")
    with op.batch_alter_table("agreement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_partner_company_id"))
        batch_op.drop_index(batch_op.f("ix_agreement_housing_association_id"))

    op.drop_table("agreement")
    op.drop_table("partner_company")
    op.drop_table("municipality")
    op.drop_table("housing_association")
