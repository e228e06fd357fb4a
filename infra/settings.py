"""Settings for every Haven runnable, read from the environment.

Each runnable has one settings class, built once in its ``main()`` and passed
down; nothing here connects to anything.  Variable names are fixed by
docs/architecture.md: ``KAFKA_BOOTSTRAP_SERVERS``, ``DATABASE_URL``, ``HAVEN_MASTER_KEY``,
``HAVEN_MASTER_KEY_FILE``, ``HAVEN_DATA_DIR``, ``HAVEN_TOPIC_PREFIX`` and
``HAVEN_API_PORT``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.kafka_security import KafkaSecurity, Mechanism, Protocol

TOPIC_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")
#: Most inbox records one sealer batch takes.  A batch's records and their sealed
#: values are held until it commits (and the next one is prepared meanwhile): at
#: 500 the sealer peaked 40 MB lower over 300,000 preloaded events than at 2,000,
#: at the same rate, and with 600 agencies as fast (docs/architecture.md).
SEALER_BATCH_MAX: Final = 500
#: Most log records one engine transaction applies.  Larger batches hold more in
#: memory (about 45 MB an engine process at 2,000 against 500), but each batch pays
#: statements per table and agency schema it touches: with 600 agencies, 500 ran
#: 24 % slower and 1,000 10 % slower than 2,000 (docs/architecture.md).
ENGINE_BATCH_MAX: Final = 2000
#: A poll of at least this many records makes the sealer or an engine process
#: "loaded": its next fetches let the broker gather records for the whole busy
#: wait (projectors/runtime/fetch_wait.py).  0 turns it off.
LOADED_FETCH_RECORDS: Final = 16
#: After this many seconds of empty polls the sealer or an engine process "dozes":
#: its quiet fetch wait grows to :data:`DOZE_FETCH_WAIT_MS` until records come
#: again (projectors/runtime/fetch_wait.py).  0 turns it off.
DOZE_AFTER_S: Final = 2.0
#: The quiet fetch wait of a dozing stage: what the first event after a pause
#: may wait at each stage on the embedded broker.
DOZE_FETCH_WAIT_MS: Final = 100


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: str) -> float:
    """Seconds from ``90``, ``90s``, ``30m``, ``72h`` or ``3d`` (ValueError otherwise)."""
    value = value.strip()
    if value and value[-1] in _UNITS:
        return float(value[:-1]) * _UNITS[value[-1]]
    return float(value)


def _env(name: str) -> AliasChoices:
    """Accept the fixed environment name and the Python attribute name."""
    return AliasChoices(name, name.lower())


class CommonSettings(BaseSettings):
    """Settings every Haven runnable shares."""

    model_config = SettingsConfigDict(
        extra="ignore", populate_by_name=True, frozen=True, hide_input_in_errors=True
    )

    environment: Literal["development", "production"] = Field(
        "development", validation_alias=_env("HAVEN_ENV")
    )
    data_dir: Path = Field(Path(".haven"), validation_alias=_env("HAVEN_DATA_DIR"))
    topic_prefix: str = Field("haven", validation_alias=_env("HAVEN_TOPIC_PREFIX"))
    kafka_bootstrap_servers: str | None = Field(
        None, validation_alias=_env("KAFKA_BOOTSTRAP_SERVERS")
    )
    database_url: SecretStr | None = Field(None, validation_alias=_env("DATABASE_URL"))
    master_key: SecretStr | None = Field(None, validation_alias=_env("HAVEN_MASTER_KEY"))
    master_key_file: Path | None = Field(None, validation_alias=_env("HAVEN_MASTER_KEY_FILE"))
    partitions: int = Field(6, ge=1, le=1000, validation_alias=_env("HAVEN_PARTITIONS"))
    kafka_security_protocol: Protocol = Field(
        "PLAINTEXT", validation_alias=_env("KAFKA_SECURITY_PROTOCOL")
    )
    kafka_sasl_mechanism: Mechanism | None = Field(
        None, validation_alias=_env("KAFKA_SASL_MECHANISM")
    )
    kafka_sasl_username: str | None = Field(None, validation_alias=_env("KAFKA_SASL_USERNAME"))
    kafka_sasl_password: SecretStr | None = Field(
        None, validation_alias=_env("KAFKA_SASL_PASSWORD")
    )
    kafka_sasl_password_file: Path | None = Field(
        None, validation_alias=_env("KAFKA_SASL_PASSWORD_FILE")
    )
    kafka_ssl_cafile: Path | None = Field(None, validation_alias=_env("KAFKA_SSL_CAFILE"))
    kafka_ssl_certfile: Path | None = Field(None, validation_alias=_env("KAFKA_SSL_CERTFILE"))
    kafka_ssl_keyfile: Path | None = Field(None, validation_alias=_env("KAFKA_SSL_KEYFILE"))
    #: ``haven up`` stop: how long the worker may drain (seal, relay, apply) before SIGKILL.
    worker_stop_timeout_s: float = Field(
        30.0, gt=0, validation_alias=_env("HAVEN_WORKER_STOP_TIMEOUT_S")
    )

    @property
    def drain_s(self) -> float:
        """What the worker's loops may spend draining: most of the stop timeout."""
        return self.worker_stop_timeout_s * 0.8

    @property
    def stage_drain_s(self) -> float:
        """What the sealer, then the engine, may each spend draining: half of ``drain_s``
        (the worker's supervisor stops them in turn within the stop timeout)."""
        return self.drain_s / 2

    @field_validator("topic_prefix")
    @classmethod
    def _valid_prefix(cls, value: str) -> str:
        if not TOPIC_PREFIX_PATTERN.match(value):
            raise ValueError("must be letters, digits, '.', '_' or '-' (Kafka topic rules)")
        return value

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, value: SecretStr | None) -> SecretStr | None:
        """Rewrite plain ``postgresql://`` URLs to the psycopg 3 driver."""
        if value is None:
            return None
        url = value.get_secret_value()
        for plain in ("postgresql://", "postgres://"):
            if url.startswith(plain):
                url = "postgresql+psycopg://" + url[len(plain) :]
        return SecretStr(url)

    @model_validator(mode="after")
    def _kafka_security_works(self) -> CommonSettings:
        problems = self.kafka_security().problems()
        if problems:
            raise ValueError("Kafka client settings: " + "; ".join(problems))
        return self

    def kafka_security(self) -> KafkaSecurity:
        """The Kafka client security these settings describe (the password file read here)."""
        if self.kafka_sasl_password is not None and self.kafka_sasl_password_file is not None:
            raise ValueError("set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both")
        password = self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None
        if self.kafka_sasl_password_file is not None:
            try:
                password = self.kafka_sasl_password_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(
                    f"KAFKA_SASL_PASSWORD_FILE cannot be read: {exc.strerror}"
                ) from None
        return KafkaSecurity(
            protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            sasl_username=self.kafka_sasl_username,
            sasl_password=password,
            ssl_cafile=self.kafka_ssl_cafile,
            ssl_certfile=self.kafka_ssl_certfile,
            ssl_keyfile=self.kafka_ssl_keyfile,
        )

    @property
    def is_production(self) -> bool:
        """True when secrets must come from the environment, never generated."""
        return self.environment == "production"


class InfraSettings(CommonSettings):
    """``haven infra``: the embedded broker and Postgres of one data dir."""

    start_timeout_s: float = Field(30.0, gt=0, validation_alias=_env("HAVEN_INFRA_TIMEOUT"))


class PublisherSettings(CommonSettings):
    """``haven publish`` and the publisher SDK."""

    request_timeout_ms: int = Field(
        30_000, gt=0, validation_alias=_env("HAVEN_PRODUCER_TIMEOUT_MS")
    )


class CliSettings(CommonSettings):
    """Commands that only need the shared settings (``contracts``, ``agency``)."""


class ApiSettings(CommonSettings):
    """The HTTP API and ``haven up``."""

    api_port: int = Field(8080, ge=1, le=65535, validation_alias=_env("HAVEN_API_PORT"))
    api_host: str = Field("127.0.0.1", validation_alias=_env("HAVEN_API_HOST"))
    #: The API's NOINHERIT login role; unset in development: derived from the master key.
    api_database_url: SecretStr | None = Field(
        None, validation_alias=_env("HAVEN_API_DATABASE_URL")
    )
    log_level: str = Field("INFO", validation_alias=_env("HAVEN_LOG_LEVEL"))
    #: Requests per second per agency, per API process (0: no limit), and the burst.
    api_rate_limit: float = Field(0.0, ge=0, validation_alias=_env("HAVEN_API_RATE_LIMIT"))
    api_rate_burst: int = Field(0, ge=0, validation_alias=_env("HAVEN_API_RATE_BURST"))
    #: API processes of ``haven up`` sharing its port (1: the API in a thread only;
    #: unset: :func:`default_api_processes`).
    api_workers: int | None = Field(None, ge=1, le=64, validation_alias=_env("HAVEN_API_WORKERS"))
    #: Seconds an API process trusts a token it has checked: a revoked token
    #: is refused at most this late (0: look every token up on every call).
    api_token_cache_s: float = Field(
        2.0, ge=0, le=30, validation_alias=_env("HAVEN_API_TOKEN_CACHE_S")
    )

    def api_process_count(self) -> int:
        """How many API processes ``haven up`` runs on its port."""
        return self.api_workers or default_api_processes()


def default_api_processes() -> int:
    """API processes when none are asked for: one per core, at most two (one Python
    process answers on about one core; the worker needs the others)."""
    return min(2, os.cpu_count() or 1)


class WorkerSettings(CommonSettings):
    """The Faust worker: sealer, projection engine and scheduler."""

    app_id: str = Field("haven", validation_alias=_env("HAVEN_APP_ID"))
    rebalance_timeout_s: float = Field(
        3.0, gt=0, validation_alias=_env("HAVEN_REBALANCE_TIMEOUT_S")
    )
    session_timeout_s: float = Field(6.0, gt=0, validation_alias=_env("HAVEN_SESSION_TIMEOUT_S"))
    sealer_batch_max: int = Field(
        SEALER_BATCH_MAX, ge=1, validation_alias=_env("HAVEN_SEALER_BATCH_MAX")
    )
    producer_idempotence: bool = Field(False, validation_alias=_env("HAVEN_PRODUCER_IDEMPOTENCE"))
    log_level: str = Field("INFO", validation_alias=_env("HAVEN_LOG_LEVEL"))
    engine_batch_max: int = Field(
        ENGINE_BATCH_MAX, ge=1, validation_alias=_env("HAVEN_ENGINE_BATCH_MAX")
    )
    engine_retry_s: float = Field(5.0, gt=0, validation_alias=_env("HAVEN_ENGINE_RETRY_S"))
    loaded_fetch_records: int = Field(
        LOADED_FETCH_RECORDS, ge=0, validation_alias=_env("HAVEN_LOADED_FETCH_RECORDS")
    )
    doze_after_s: float = Field(DOZE_AFTER_S, ge=0, validation_alias=_env("HAVEN_DOZE_AFTER_S"))
    doze_fetch_wait_ms: int = Field(
        DOZE_FETCH_WAIT_MS, ge=0, le=5000, validation_alias=_env("HAVEN_DOZE_FETCH_WAIT_MS")
    )
    #: Seconds, or a number with a unit: ``90s``, ``30m``, ``72h``, ``3d``.
    erasure_hold_s: float = Field(72 * 3600.0, validation_alias=_env("HAVEN_ERASURE_HOLD"))
    policy_file: Path | None = Field(None, validation_alias=_env("HAVEN_POLICY_FILE"))
    scheduler_tick_s: float = Field(0.5, gt=0, validation_alias=_env("HAVEN_SCHEDULER_TICK_S"))
    #: Webhook retries: base * 2^(attempts-1) seconds, capped at max.
    webhook_retry_base_s: float = Field(
        2.0, gt=0, validation_alias=_env("HAVEN_WEBHOOK_RETRY_BASE_S")
    )
    webhook_retry_max_s: float = Field(
        3600.0, gt=0, validation_alias=_env("HAVEN_WEBHOOK_RETRY_MAX_S")
    )
    webhook_timeout_s: float = Field(5.0, gt=0, validation_alias=_env("HAVEN_WEBHOOK_TIMEOUT_S"))
    #: Shares of the log's partitions ``haven worker --role all`` projects at once, each
    #: with its own consumer, batches and pool (unset: min(2, cores), or the processes).
    engine_shares: int | None = Field(
        None, ge=1, le=64, validation_alias=_env("HAVEN_ENGINE_SHARES")
    )
    #: Engine processes the shares run in (unset: one per share).
    engine_processes: int | None = Field(
        None, ge=1, le=64, validation_alias=_env("HAVEN_ENGINE_PROCESSES")
    )

    def engine_share_count(self) -> int:
        """How many shares the log is split into (never more than partitions); one share
        is the lone engine in the consumer group."""
        wanted = self.engine_shares or max(self.engine_processes or 1, min(2, os.cpu_count() or 1))
        return max(1, min(wanted, self.partitions))

    def engine_process_count(self) -> int:
        """How many engine processes ``--role all`` supervises (unset: one per share; never
        more than shares)."""
        shares = self.engine_share_count()
        return max(1, min(self.engine_processes or shares, shares))

    @field_validator("erasure_hold_s", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return parse_duration(value) if isinstance(value, str) else value
