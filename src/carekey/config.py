"""One ``Settings`` object for the whole process, read from ``CAREKEY_*`` environment variables."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "carekey-development-secret-do-not-use-in-production"  # noqa: S105 - refused below outside development


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Process settings. Unsafe defaults are refused outside development and test."""

    model_config = SettingsConfigDict(env_prefix="CAREKEY_", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Field(default=Path("data"))
    database_url: str | None = None
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # The demo's simulated doors (``carekey serve --demo``) listen on consecutive local ports
    # from this one (``CAREKEY_DEMO_DOOR_PORT``; ``--door-port``). Below Linux's ephemeral range
    # (32768–60999) by default, so outgoing connections never hold them.
    demo_door_port: int = Field(default=18301, ge=1024, le=65000)
    log_level: str = "info"
    # How long the server waits on PostgreSQL (seconds; ``carekey.store.deadline``): opening a
    # connection, the server-side statement and lock timeouts, a pooled connection, and a
    # request's whole budget for database waits. A stalled database then answers 503 with
    # Retry-After within about ``db_request_timeout_s`` + ``db_connect_timeout_s``.
    db_connect_timeout_s: float = Field(default=2.0, ge=2.0, le=60.0)
    db_statement_timeout_s: float = Field(default=2.5, gt=0.0, le=3600.0)
    db_lock_timeout_s: float = Field(default=2.0, gt=0.0, le=3600.0)
    db_pool_timeout_s: float = Field(default=2.0, gt=0.0, le=60.0)
    db_request_timeout_s: float = Field(default=3.0, gt=0.0, le=3600.0)
    # Online entrance and gate controllers (issue 17, docs/online.md): the MQTT broker's URL
    # (``mqtt://host:1883``, ``mqtts://`` for TLS). None: online controllers are switched off
    # and every door learns from phones only (the embedded quick start).
    mqtt_url: str | None = None
    mqtt_topic_prefix: str = Field(
        default="carekey/v1", pattern=r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*$"
    )
    # A controller not heard from for this long is shown offline (it sends its state every
    # ``online_heartbeat_s``; the broker's last will usually says so sooner).
    online_offline_after_s: float = Field(default=90.0, ge=10.0, le=3600.0)
    # Webhooks (docs/webhooks.md): the server delivers from the outbox while it runs.
    webhooks_enabled: bool = True
    # Deliveries to loopback and private addresses (webhooks/targets.py): None allows them
    # outside production only.
    webhooks_allow_private_targets: bool | None = None

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.environment is Environment.PRODUCTION:
            if self.secret_key.get_secret_value() == DEVELOPMENT_SECRET:
                raise ValueError(
                    "CAREKEY_SECRET_KEY skal sættes i produktion / "
                    "CAREKEY_SECRET_KEY must be set in production"
                )
            if len(self.secret_key.get_secret_value()) < 32:
                raise ValueError(
                    "CAREKEY_SECRET_KEY skal være mindst 32 tegn / "
                    "CAREKEY_SECRET_KEY must be at least 32 characters"
                )
        return self

    @property
    def webhooks_private_targets_ok(self) -> bool:
        """Whether webhooks may go to loopback and private addresses (not in production)."""
        if self.webhooks_allow_private_targets is not None:
            return self.webhooks_allow_private_targets
        return self.environment is not Environment.PRODUCTION

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL to connect to: the configured one, or SQLite under ``data_dir``."""
        if self.database_url:
            return normalize_database_url(self.database_url)
        return normalize_database_url(f"sqlite:///{self.data_dir / 'carekey.db'}")


def normalize_database_url(url: str) -> str:
    """Accept the usual ``postgresql://`` and ``sqlite:///`` forms; the driver is our business.

    ``postgresql://user@host:port/db`` and ``postgres://...`` become ``postgresql+psycopg://...``;
    an explicit driver the project does not ship is refused with a clear message.
    """
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(
            f"Ugyldig database-URL {url!r}: forventede postgresql://… eller sqlite:///… / "
            f"invalid database URL {url!r}: expected postgresql://… or sqlite:///…"
        )
    base, _, driver = scheme.partition("+")
    if base in ("postgresql", "postgres"):
        if driver not in ("", "psycopg"):
            raise ValueError(f"Databasedriveren {driver!r} understøttes ikke / unsupported driver")
        return f"postgresql+psycopg://{rest}"
    if base == "sqlite":
        if driver not in ("", "pysqlite"):
            raise ValueError(f"Databasedriveren {driver!r} understøttes ikke / unsupported driver")
        return f"sqlite://{rest}"
    raise ValueError(
        f"Databasen {base!r} understøttes ikke; brug postgresql eller sqlite / "
        f"database {base!r} is not supported; use postgresql or sqlite"
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
