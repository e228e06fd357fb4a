"""One Kafka client configuration for every client Haven builds.

``KafkaSecurity`` holds the protocol (PLAINTEXT, SSL, SASL_PLAINTEXT,
SASL_SSL), the SASL mechanism and credentials and the TLS files; the
settings validate it at start (:meth:`infra.settings.CommonSettings.kafka_security`).
Each runnable's ``main()`` installs it once with :func:`configure_kafka`;
every kafka-python, aiokafka and Faust client then takes its keyword
arguments from :func:`kafka_python_kwargs`, :func:`aiokafka_kwargs` or
:func:`faust_kwargs`, so no client is built without them.  The password is
never part of ``repr``.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Protocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
Mechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
PROTOCOLS: tuple[str, ...] = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS: tuple[str, ...] = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class KafkaSecurity:
    """How Haven's clients authenticate to the brokers and protect the connection."""

    protocol: Protocol = "PLAINTEXT"
    sasl_mechanism: Mechanism | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None

    @property
    def uses_sasl(self) -> bool:
        """True for SASL_PLAINTEXT and SASL_SSL."""
        return self.protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        """True for SSL and SASL_SSL."""
        return self.protocol in ("SSL", "SASL_SSL")

    def problems(self) -> list[str]:
        """Why this configuration cannot work (empty when it can)."""
        found: list[str] = []
        if self.uses_sasl:
            for name, value in (
                ("KAFKA_SASL_MECHANISM", self.sasl_mechanism),
                ("KAFKA_SASL_USERNAME", self.sasl_username),
                ("KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE)", self.sasl_password),
            ):
                if not value:
                    found.append(f"{name} is required with KAFKA_SECURITY_PROTOCOL={self.protocol}")
        elif self.sasl_mechanism or self.sasl_username or self.sasl_password:
            found.append(
                f"SASL settings are set but KAFKA_SECURITY_PROTOCOL={self.protocol}:"
                " use SASL_PLAINTEXT or SASL_SSL"
            )
        tls_files = (
            ("KAFKA_SSL_CAFILE", self.ssl_cafile),
            ("KAFKA_SSL_CERTFILE", self.ssl_certfile),
            ("KAFKA_SSL_KEYFILE", self.ssl_keyfile),
        )
        if not self.uses_tls and any(path for _, path in tls_files):
            found.append(
                f"TLS files are set but KAFKA_SECURITY_PROTOCOL={self.protocol}:"
                " use SSL or SASL_SSL"
            )
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            found.append("KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together")
        found.extend(
            f"{name}: no such file: {path}"
            for name, path in tls_files
            if path is not None and not path.is_file()
        )
        return found

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for aiokafka and Faust (None without TLS)."""
        if not self.uses_tls:
            return None
        context = ssl.create_default_context(
            cafile=str(self.ssl_cafile) if self.ssl_cafile else None
        )
        if self.ssl_certfile and self.ssl_keyfile:
            context.load_cert_chain(str(self.ssl_certfile), str(self.ssl_keyfile))
        return context


_current = KafkaSecurity()


def configure_kafka(security: KafkaSecurity) -> None:
    """Install the process's Kafka security (once, from ``main()``)."""
    global _current
    _current = security


def kafka_security() -> KafkaSecurity:
    """The installed configuration (PLAINTEXT until :func:`configure_kafka`)."""
    return _current


def _protocol_and_sasl(sec: KafkaSecurity) -> dict[str, Any]:
    """The arguments kafka-python and aiokafka name alike."""
    kwargs: dict[str, Any] = {"security_protocol": sec.protocol}
    if sec.uses_sasl:
        kwargs |= {
            "sasl_mechanism": sec.sasl_mechanism,
            "sasl_plain_username": sec.sasl_username,
            "sasl_plain_password": sec.sasl_password,
        }
    return kwargs


def kafka_python_kwargs(security: KafkaSecurity | None = None) -> dict[str, Any]:
    """Keyword arguments for kafka-python's producer, consumer and admin client."""
    sec = security or _current
    kwargs = _protocol_and_sasl(sec)
    if sec.uses_tls:
        kwargs |= {
            "ssl_check_hostname": True,
            "ssl_cafile": str(sec.ssl_cafile) if sec.ssl_cafile else None,
            "ssl_certfile": str(sec.ssl_certfile) if sec.ssl_certfile else None,
            "ssl_keyfile": str(sec.ssl_keyfile) if sec.ssl_keyfile else None,
        }
    return kwargs


def aiokafka_kwargs(security: KafkaSecurity | None = None) -> dict[str, Any]:
    """Keyword arguments for aiokafka's producer, consumer and admin client."""
    sec = security or _current
    kwargs = _protocol_and_sasl(sec)
    if sec.uses_tls:
        kwargs["ssl_context"] = sec.ssl_context()
    return kwargs


def faust_kwargs(security: KafkaSecurity | None = None) -> dict[str, Any]:
    """``broker_credentials`` for ``faust.App`` (empty for PLAINTEXT)."""
    import faust  # the worker's dependency; imported only where a Faust app is built

    sec = security or _current
    if sec.uses_sasl:
        credentials: Any = faust.SASLCredentials(
            username=sec.sasl_username,
            password=sec.sasl_password,
            mechanism=sec.sasl_mechanism,
            ssl_context=sec.ssl_context(),
        )
        return {"broker_credentials": credentials}
    if sec.uses_tls:
        return {"broker_credentials": faust.SSLCredentials(sec.ssl_context())}
    return {}
