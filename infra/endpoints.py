"""Where this command's broker and database are: configured URLs or the embedded infra.

docs/architecture.md "CLI": every command works against the infrastructure of its
``HAVEN_DATA_DIR`` (the embedded one if it is running there, else the
configured URLs).  ``KAFKA_BOOTSTRAP_SERVERS`` and ``DATABASE_URL`` win when
set; otherwise the running embedded infra of ``settings.data_dir`` is used.
Nothing here connects to anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from infra.settings import CommonSettings


class InfraNotRunning(RuntimeError):
    """No URL is configured and no embedded infra runs in the data dir."""


@dataclass(frozen=True)
class Endpoints:
    """Broker bootstrap servers and SQLAlchemy database URL (psycopg 3 driver).

    ``embedded`` is True when any of the two comes from the embedded infra.
    The URL carries a password, so it is left out of ``repr``.
    """

    bootstrap_servers: str
    database_url: str = field(repr=False)
    embedded: bool

    def env(self) -> dict[str, str]:
        """The two variables, as a child process environment fragment."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "DATABASE_URL": self.database_url,
        }


def embedded_endpoints(settings: CommonSettings) -> Endpoints | None:
    """The endpoints of the embedded infra running in ``settings.data_dir``, if any."""
    from infra.embedded.paths import InfraPaths
    from infra.embedded.state import running_state

    state = running_state(InfraPaths.for_data_dir(settings.data_dir))
    if state is None:
        return None
    return Endpoints(state.bootstrap_servers, state.database_url, embedded=True)


def resolve_endpoints(settings: CommonSettings) -> Endpoints:
    """Configured URLs first, then the embedded infra of the data dir, else ``InfraNotRunning``."""
    kafka = settings.kafka_bootstrap_servers or None
    database = settings.database_url.get_secret_value() if settings.database_url else None
    if kafka is not None and database is not None:
        return Endpoints(kafka, database, embedded=False)
    running = embedded_endpoints(settings)
    if running is None:
        missing = " and ".join(
            name
            for name, value in (("KAFKA_BOOTSTRAP_SERVERS", kafka), ("DATABASE_URL", database))
            if value is None
        )
        raise InfraNotRunning(
            f"no embedded infra is running in {settings.data_dir} and {missing} "
            "is not set: run `haven infra up` (or `haven up`), or set the variables"
        )
    return Endpoints(
        kafka or running.bootstrap_servers,
        database or running.database_url,
        embedded=True,
    )
