"""housing associations and partner companies (issue 15)

- associations and partner companies are registered with a municipality (``municipality_id``,
  CVR unique per municipality); a company states whether it is a company or a public body;
- an agreement states its legal basis, and when it was blocked;
- the people of an association or a company are ``employee`` rows with
  ``housing_association_id`` or ``partner_company_id`` and the new roles
  ``association_user``, ``partner_admin``, ``partner_worker``; their phones are ``phone`` rows
  with ``partner_company_id``. The old ``partner_staff`` and ``partner_phone`` rows are moved
  there (worker number ``partner-<id>``, phone label ``partner-phone-<id>``), and the errands,
  audit events and issued credentials that named them follow;
- an issuer key has a purpose: ``home_care`` or ``partner`` (the key home locks never trust).

Downgrade drops what has no place in 0004: the moved partner people and phones are deleted
(their tables come back empty).

Revision ID: 0005
Revises: 0004
Create Date: 2027-03-01
"""

# Every SQL text here is composed from constants of this file (no input reaches it).
# ruff: noqa: S608

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import carekey.store.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLES_0004 = ("care_worker", "administrator", "district_lead", "auditor", "installer")
_ROLES_0005 = (*_ROLES_0004, "association_user", "partner_admin", "partner_worker")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _set_roles(values: Sequence[str]) -> None:
    name = op.f("ck_employee_role_role")
    with op.batch_alter_table("employee_role") as batch:
        batch.drop_constraint(name, type_="check")
        batch.create_check_constraint(name, _in("role", values))


_FIRST_MUNICIPALITY = "(SELECT min(id) FROM municipality)"


def upgrade() -> None:
    with op.batch_alter_table("issuer_key") as batch:
        batch.add_column(
            sa.Column(
                "purpose",
                _enum("purpose", "home_care", "partner"),
                server_default=sa.text("'home_care'"),
                nullable=False,
            )
        )

    # Associations: the municipality of their properties (any municipality if none).
    with op.batch_alter_table("housing_association") as batch:
        batch.add_column(sa.Column("municipality_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE housing_association SET municipality_id = coalesce("
        "(SELECT min(p.municipality_id) FROM property p"
        " WHERE p.housing_association_id = housing_association.id), "
        f"{_FIRST_MUNICIPALITY})"
    )
    with op.batch_alter_table("housing_association") as batch:
        batch.alter_column("municipality_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_constraint(op.f("uq_housing_association_cvr"), type_="unique")
        batch.create_unique_constraint(
            op.f("uq_housing_association_municipality_id_cvr"), ["municipality_id", "cvr"]
        )
        batch.create_foreign_key(
            op.f("fk_housing_association_municipality_id"),
            "municipality",
            ["municipality_id"],
            ["id"],
        )
        batch.create_index(
            op.f("ix_housing_association_municipality_id"), ["municipality_id"], unique=False
        )

    # Companies: the municipality of the associations they have agreements with.
    with op.batch_alter_table("partner_company") as batch:
        batch.add_column(sa.Column("municipality_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column(
                "organisation_kind",
                _enum("organisation_kind", "company", "public_body"),
                nullable=True,
            )
        )
        batch.add_column(sa.Column("contact_email", sa.String(length=200), nullable=True))
    op.execute(
        "UPDATE partner_company SET municipality_id = coalesce("
        "(SELECT min(h.municipality_id) FROM agreement a JOIN housing_association h"
        " ON h.id = a.housing_association_id WHERE a.partner_company_id = partner_company.id), "
        f"{_FIRST_MUNICIPALITY}), organisation_kind = CASE WHEN cvr IS NULL"
        " THEN 'public_body' ELSE 'company' END"
    )
    with op.batch_alter_table("partner_company") as batch:
        batch.alter_column("municipality_id", existing_type=sa.Integer(), nullable=False)
        batch.alter_column(
            "organisation_kind",
            existing_type=_enum("organisation_kind", "company", "public_body"),
            nullable=False,
        )
        batch.drop_constraint(op.f("uq_partner_company_cvr"), type_="unique")
        batch.create_unique_constraint(
            op.f("uq_partner_company_municipality_id_cvr"), ["municipality_id", "cvr"]
        )
        batch.create_check_constraint(
            op.f("ck_partner_company_company_has_cvr"),
            "organisation_kind = 'public_body' OR cvr IS NOT NULL",
        )
        batch.create_foreign_key(
            op.f("fk_partner_company_municipality_id"), "municipality", ["municipality_id"], ["id"]
        )
        batch.create_index(
            op.f("ix_partner_company_municipality_id"), ["municipality_id"], unique=False
        )

    bases = ("statutory_mail", "goods_or_services", "public_service", "named_resident")
    with op.batch_alter_table("agreement") as batch:
        batch.add_column(sa.Column("legal_basis", _enum("legal_basis", *bases), nullable=True))
        batch.add_column(
            sa.Column("blocked_at", carekey.store.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute(
        "UPDATE agreement SET legal_basis = (SELECT CASE c.category"
        " WHEN 'post' THEN 'statutory_mail' WHEN 'newspaper' THEN 'goods_or_services'"
        " WHEN 'advertising' THEN 'goods_or_services' ELSE 'named_resident' END"
        " FROM partner_company c WHERE c.id = agreement.partner_company_id)"
    )
    with op.batch_alter_table("agreement") as batch:
        batch.alter_column(
            "legal_basis", existing_type=_enum("legal_basis", *bases), nullable=False
        )

    # The people of associations and companies are employees of their organisation.
    _set_roles(_ROLES_0005)
    with op.batch_alter_table("employee") as batch:
        batch.add_column(sa.Column("housing_association_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("partner_company_id", sa.Integer(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_employee_one_organisation"),
            "housing_association_id IS NULL OR partner_company_id IS NULL",
        )
        batch.create_foreign_key(
            op.f("fk_employee_housing_association_id"),
            "housing_association",
            ["housing_association_id"],
            ["id"],
        )
        batch.create_foreign_key(
            op.f("fk_employee_partner_company_id"),
            "partner_company",
            ["partner_company_id"],
            ["id"],
        )
        batch.create_index(
            op.f("ix_employee_housing_association_id"), ["housing_association_id"], unique=False
        )
        batch.create_index(
            op.f("ix_employee_partner_company_id"), ["partner_company_id"], unique=False
        )
    with op.batch_alter_table("phone") as batch:
        batch.add_column(sa.Column("partner_company_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_phone_partner_company_id"), "partner_company", ["partner_company_id"], ["id"]
        )
        batch.create_index(
            op.f("ix_phone_partner_company_id"), ["partner_company_id"], unique=False
        )

    op.execute(
        "INSERT INTO employee (municipality_id, employee_number, full_name, status,"
        " session_epoch, partner_company_id, created_at)"
        " SELECT c.municipality_id, 'partner-' || s.id, s.full_name, s.status, 0, c.id,"
        " CURRENT_TIMESTAMP FROM partner_staff s JOIN partner_company c ON c.id = s.company_id"
    )
    _worker = (
        "(SELECT e.id FROM employee e WHERE e.partner_company_id IS NOT NULL"
        " AND e.employee_number = 'partner-' || {column})"
    )
    op.execute(
        "INSERT INTO employee_role (employee_id, role) SELECT e.id, 'partner_worker'"
        " FROM employee e WHERE e.partner_company_id IS NOT NULL"
    )
    op.execute(
        "INSERT INTO phone (municipality_id, employee_id, label, public_key, status,"
        " enrolled_at, session_epoch, partner_company_id, created_at)"
        " SELECT c.municipality_id, " + _worker.format(column="p.staff_id") + ","
        " 'partner-phone-' || p.id, p.public_key, p.status, p.enrolled_at, 0, c.id,"
        " CURRENT_TIMESTAMP FROM partner_phone p JOIN partner_company c ON c.id = p.company_id"
    )

    with op.batch_alter_table("errand") as batch:
        batch.add_column(sa.Column("employee_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("recipient", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("requested_by_employee_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE errand SET employee_id = "
        + _worker.format(column="errand.partner_staff_id")
        + " WHERE partner_staff_id IS NOT NULL"
    )
    with op.batch_alter_table("errand") as batch:
        batch.drop_constraint(op.f("fk_errand_partner_staff_id"), type_="foreignkey")
        batch.drop_column("partner_staff_id")
        batch.create_foreign_key(op.f("fk_errand_employee_id"), "employee", ["employee_id"], ["id"])
        batch.create_foreign_key(
            op.f("fk_errand_requested_by_employee_id"),
            "employee",
            ["requested_by_employee_id"],
            ["id"],
        )
        batch.create_index(op.f("ix_errand_employee_id"), ["employee_id"], unique=False)

    op.execute(
        "UPDATE audit_event SET employee_id = "
        + _worker.format(column="audit_event.partner_staff_id")
        + " WHERE partner_staff_id IS NOT NULL AND employee_id IS NULL"
    )
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_constraint(op.f("fk_audit_event_partner_staff_id"), type_="foreignkey")
        batch.drop_column("partner_staff_id")

    op.execute(
        "UPDATE issued_credential SET employee_id = "
        + _worker.format(column="issued_credential.partner_staff_id")
        + " WHERE partner_staff_id IS NOT NULL"
    )
    op.execute("DELETE FROM issued_credential WHERE employee_id IS NULL")
    with op.batch_alter_table("issued_credential") as batch:
        batch.drop_constraint(op.f("ck_issued_credential_one_subject"), type_="check")
        batch.drop_constraint(op.f("fk_issued_credential_partner_phone_id"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_issued_credential_partner_staff_id"), type_="foreignkey")
        batch.drop_column("partner_phone_id")
        batch.drop_column("partner_staff_id")
        batch.create_check_constraint(
            op.f("ck_issued_credential_one_subject"), "employee_id IS NOT NULL"
        )
        batch.add_column(sa.Column("agreement_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("errand_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_issued_credential_agreement_id"), "agreement", ["agreement_id"], ["id"]
        )
        batch.create_foreign_key(
            op.f("fk_issued_credential_errand_id"), "errand", ["errand_id"], ["id"]
        )
        batch.create_index(
            op.f("ix_issued_credential_agreement_id"), ["agreement_id"], unique=False
        )

    with op.batch_alter_table("partner_phone") as batch:
        batch.drop_index(batch.f("ix_partner_phone_staff_id"))
        batch.drop_index(batch.f("ix_partner_phone_company_id"))
    op.drop_table("partner_phone")
    with op.batch_alter_table("partner_staff") as batch:
        batch.drop_index(batch.f("ix_partner_staff_company_id"))
    op.drop_table("partner_staff")


def downgrade() -> None:
    op.create_table(
        "partner_staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("status", _enum("status", "active", "blocked"), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["partner_company.id"], name=op.f("fk_partner_staff_company_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_staff")),
    )
    with op.batch_alter_table("partner_staff") as batch:
        batch.create_index(batch.f("ix_partner_staff_company_id"), ["company_id"], unique=False)
    op.create_table(
        "partner_phone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=128), nullable=True),
        sa.Column("status", _enum("status", "active", "blocked", "lost"), nullable=False),
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
    with op.batch_alter_table("partner_phone") as batch:
        batch.create_index(batch.f("ix_partner_phone_company_id"), ["company_id"], unique=False)
        batch.create_index(batch.f("ix_partner_phone_staff_id"), ["staff_id"], unique=False)

    org_people = "SELECT id FROM employee WHERE partner_company_id IS NOT NULL"
    org_people += " OR housing_association_id IS NOT NULL"
    op.execute(f"DELETE FROM issued_credential WHERE employee_id IN ({org_people})")
    op.execute(f"UPDATE audit_event SET employee_id = NULL WHERE employee_id IN ({org_people})")
    with op.batch_alter_table("issued_credential") as batch:
        batch.drop_index(batch.f("ix_issued_credential_agreement_id"))
        batch.drop_constraint(op.f("fk_issued_credential_errand_id"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_issued_credential_agreement_id"), type_="foreignkey")
        batch.drop_column("errand_id")
        batch.drop_column("agreement_id")
        batch.drop_constraint(op.f("ck_issued_credential_one_subject"), type_="check")
        batch.add_column(sa.Column("partner_staff_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("partner_phone_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_issued_credential_partner_staff_id"),
            "partner_staff",
            ["partner_staff_id"],
            ["id"],
        )
        batch.create_foreign_key(
            op.f("fk_issued_credential_partner_phone_id"),
            "partner_phone",
            ["partner_phone_id"],
            ["id"],
        )
        batch.create_check_constraint(
            op.f("ck_issued_credential_one_subject"),
            "(subject_type = 'employee' AND employee_id IS NOT NULL AND partner_staff_id IS NULL)"
            " OR (subject_type = 'partner_staff' AND partner_staff_id IS NOT NULL"
            " AND employee_id IS NULL)",
        )
    with op.batch_alter_table("audit_event") as batch:
        batch.add_column(sa.Column("partner_staff_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_audit_event_partner_staff_id"), "partner_staff", ["partner_staff_id"], ["id"]
        )
    with op.batch_alter_table("errand") as batch:
        batch.drop_index(batch.f("ix_errand_employee_id"))
        batch.drop_constraint(op.f("fk_errand_requested_by_employee_id"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_errand_employee_id"), type_="foreignkey")
        batch.drop_column("requested_by_employee_id")
        batch.drop_column("recipient")
        batch.drop_column("employee_id")
        batch.add_column(sa.Column("partner_staff_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_errand_partner_staff_id"), "partner_staff", ["partner_staff_id"], ["id"]
        )

    op.execute(
        "DELETE FROM enrolment_code WHERE phone_id IN"
        " (SELECT id FROM phone WHERE partner_company_id IS NOT NULL)"
    )
    op.execute("DELETE FROM phone WHERE partner_company_id IS NOT NULL")
    for table, column in (
        ("employee_role", "employee_id"),
        ("office_session", "employee_id"),
        ("admin_action", "actor_employee_id"),
    ):
        if table == "admin_action":
            op.execute(f"UPDATE {table} SET {column} = NULL WHERE {column} IN ({org_people})")
        else:
            op.execute(f"DELETE FROM {table} WHERE {column} IN ({org_people})")
    op.execute(f"DELETE FROM phone WHERE employee_id IN ({org_people})")
    op.execute(
        "DELETE FROM employee WHERE partner_company_id IS NOT NULL"
        " OR housing_association_id IS NOT NULL"
    )
    with op.batch_alter_table("phone") as batch:
        batch.drop_index(batch.f("ix_phone_partner_company_id"))
        batch.drop_constraint(op.f("fk_phone_partner_company_id"), type_="foreignkey")
        batch.drop_column("partner_company_id")
    with op.batch_alter_table("employee") as batch:
        batch.drop_index(batch.f("ix_employee_partner_company_id"))
        batch.drop_index(batch.f("ix_employee_housing_association_id"))
        batch.drop_constraint(op.f("fk_employee_partner_company_id"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_employee_housing_association_id"), type_="foreignkey")
        batch.drop_constraint(op.f("ck_employee_one_organisation"), type_="check")
        batch.drop_column("partner_company_id")
        batch.drop_column("housing_association_id")
    _set_roles(_ROLES_0004)

    with op.batch_alter_table("agreement") as batch:
        batch.drop_constraint(op.f("ck_agreement_legal_basis"), type_="check")
        batch.drop_column("blocked_at")
        batch.drop_column("legal_basis")
    with op.batch_alter_table("partner_company") as batch:
        batch.drop_index(batch.f("ix_partner_company_municipality_id"))
        batch.drop_constraint(op.f("fk_partner_company_municipality_id"), type_="foreignkey")
        batch.drop_constraint(op.f("ck_partner_company_company_has_cvr"), type_="check")
        batch.drop_constraint(op.f("ck_partner_company_organisation_kind"), type_="check")
        batch.drop_constraint(op.f("uq_partner_company_municipality_id_cvr"), type_="unique")
        batch.create_unique_constraint(op.f("uq_partner_company_cvr"), ["cvr"])
        batch.drop_column("contact_email")
        batch.drop_column("organisation_kind")
        batch.drop_column("municipality_id")
    with op.batch_alter_table("housing_association") as batch:
        batch.drop_index(batch.f("ix_housing_association_municipality_id"))
        batch.drop_constraint(op.f("fk_housing_association_municipality_id"), type_="foreignkey")
        batch.drop_constraint(op.f("uq_housing_association_municipality_id_cvr"), type_="unique")
        batch.create_unique_constraint(op.f("uq_housing_association_cvr"), ["cvr"])
        batch.drop_column("municipality_id")
    with op.batch_alter_table("issuer_key") as batch:
        batch.drop_constraint(op.f("ck_issuer_key_purpose"), type_="check")
        batch.drop_column("purpose")
