"""Migration 0005 moves the first wave's partner staff and phones into ``employee`` and
``phone``, and everything that named them follows; the associations and companies get their
municipality (issue 15). Run on data, on both backends."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, text

from carekey.store.migrate import downgrade, upgrade

NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)


def _rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(sql))]


def test_partner_staff_phones_and_what_names_them_move_to_employees(engine: Engine) -> None:
    downgrade(engine, "0004")
    statements = [
        "INSERT INTO municipality (id, code, name, timezone, key_lifetime_minutes,"
        " heartbeat_interval_s, emergency_key_max_minutes, wrong_code_limit, created_at)"
        " VALUES (7, '0101', 'Københavns Kommune', 'Europe/Copenhagen', 540, 60, 480, 5, :now)",
        "INSERT INTO housing_association (id, name, cvr, created_at)"
        " VALUES (3, 'Boligforeningen Lyset', '30000000', :now)",
        "INSERT INTO property (id, municipality_id, housing_association_id, street,"
        " house_number, postal_code, city) VALUES (5, 7, 3, 'Lysvej', '1', '2200', 'København N')",
        "INSERT INTO entrance (id, property_id, label) VALUES (6, 5, 'Lysvej 1')",
        "INSERT INTO partner_company (id, name, cvr, category, status, created_at)"
        " VALUES (2, 'Morgenbud ApS', '24256790', 'newspaper', 'active', :now)",
        "INSERT INTO partner_company (id, name, cvr, category, status, created_at)"
        " VALUES (4, 'Madservice', NULL, 'meal_box', 'active', :now)",
        "INSERT INTO partner_staff (id, company_id, full_name, status)"
        " VALUES (11, 2, 'Bo Bud', 'active')",
        "INSERT INTO partner_phone (id, company_id, staff_id, label, status)"
        " VALUES (12, 2, 11, 'P-1', 'lost')",
        "INSERT INTO agreement (id, housing_association_id, partner_company_id, valid_from,"
        " requires_errand, blocked, created_at) VALUES (8, 3, 2, :now, false, false, :now)",
        "INSERT INTO errand (id, agreement_id, partner_staff_id, entrance_id, purpose,"
        " not_before, not_after, status, created_at) VALUES (9, 8, 11, 6, 'newspaper', :now,"
        " :later, 'approved', :now)",
        "INSERT INTO audit_event (id, municipality_id, source, action, partner_staff_id,"
        " occurred_at, received_at, chain_gap, chain_broken) VALUES (10, 7, 'app', 'login', 11,"
        " :now, :now, false, false)",
    ]
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement), {"now": NOW, "later": NOW + dt.timedelta(hours=1)})
    upgrade(engine)
    (worker,) = _rows(
        engine,
        "SELECT id, municipality_id, employee_number, full_name, partner_company_id FROM employee",
    )
    worker_id = worker[0]
    assert worker[1:] == (7, "partner-11", "Bo Bud", 2)
    assert _rows(engine, "SELECT role FROM employee_role") == [("partner_worker",)]
    assert _rows(
        engine, "SELECT employee_id, label, status, partner_company_id, municipality_id FROM phone"
    ) == [(worker_id, "partner-phone-12", "lost", 2, 7)]
    assert _rows(engine, "SELECT employee_id FROM errand") == [(worker_id,)]
    assert _rows(engine, "SELECT employee_id FROM audit_event") == [(worker_id,)]
    assert _rows(engine, "SELECT municipality_id FROM housing_association") == [(7,)]
    assert sorted(
        _rows(engine, "SELECT id, municipality_id, organisation_kind FROM partner_company")
    ) == [(2, 7, "company"), (4, 7, "public_body")]
    assert _rows(engine, "SELECT legal_basis FROM agreement") == [("goods_or_services",)]
    if engine.dialect.name == "sqlite":
        # The migration switched foreign keys off for its copy-and-rename; they are on again
        # for whoever gets the pooled connection next.
        assert _rows(engine, "PRAGMA foreign_keys") == [(1,)]
    # And back: 0004 has no place for them, the people and phones go, nothing else breaks.
    downgrade(engine, "0004")
    assert _rows(engine, "SELECT count(*) FROM employee") == [(0,)]
    assert _rows(engine, "SELECT count(*) FROM partner_company") == [(2,)]
    upgrade(engine)
