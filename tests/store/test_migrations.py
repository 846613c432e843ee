"""The models and the migrations describe the same schema, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from carekey.store.migrate import current_revision, downgrade, head_revision, upgrade
from carekey.store.models import Base


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_autogenerate_finds_no_difference(engine: Engine) -> None:
    assert current_revision(engine) == head_revision(engine)
    assert _diff(engine) == []


def test_the_check_is_not_blind(engine: Engine) -> None:
    """A column the migrations lack is reported: the comparison above can fail."""
    from sqlalchemy import Column, Integer, MetaData, Table

    extra = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(extra)
    Table("municipality", extra, Column("not_migrated", Integer), extend_existing=True)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        diff = compare_metadata(context, extra)
    assert any(d[0] == "add_column" and d[3].name == "not_migrated" for d in diff)


def test_downgrade_to_empty_and_up_again(engine: Engine) -> None:
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    assert _diff(engine) == []
