"""Kafka client settings: validated at start, mapped into each client library's arguments."""

from __future__ import annotations

import ssl
from pathlib import Path

import faust
import pytest
from pydantic import ValidationError

from events.kafka_security import (
    KafkaSecurity,
    aiokafka_kwargs,
    configure_kafka,
    faust_kwargs,
    kafka_python_kwargs,
    kafka_security,
)
from events.publisher import producer_config
from infra.settings import CommonSettings

KAFKA_VARS = (
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
    "KAFKA_SASL_PASSWORD_FILE",
    "KAFKA_SSL_CAFILE",
    "KAFKA_SSL_CERTFILE",
    "KAFKA_SSL_KEYFILE",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KAFKA_VARS:
        monkeypatch.delenv(name, raising=False)


def _settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> CommonSettings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return CommonSettings()


def _error(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    with pytest.raises(ValidationError) as caught:
        _settings(monkeypatch, **env)
    return str(caught.value)


def test_plaintext_by_default_maps_to_every_client(monkeypatch: pytest.MonkeyPatch) -> None:
    security = _settings(monkeypatch).kafka_security()
    assert security == KafkaSecurity()
    assert kafka_python_kwargs(security) == {"security_protocol": "PLAINTEXT"}
    assert aiokafka_kwargs(security) == {"security_protocol": "PLAINTEXT"}
    assert faust_kwargs(security) == {}


def test_sasl_scram_with_a_password_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "kafka-password"
    secret.write_text("s3cret-value\n")
    security = _settings(
        monkeypatch,
        KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
        KAFKA_SASL_MECHANISM="SCRAM-SHA-512",
        KAFKA_SASL_USERNAME="haven",
        KAFKA_SASL_PASSWORD_FILE=str(secret),
    ).kafka_security()
    assert "s3cret-value" not in repr(security)
    expected = {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "haven",
        "sasl_plain_password": "s3cret-value",
    }
    assert kafka_python_kwargs(security) == expected
    assert aiokafka_kwargs(security) == expected
    credentials = faust_kwargs(security)["broker_credentials"]
    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.username, credentials.password) == ("haven", "s3cret-value")
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert credentials.protocol.value == "SASL_PLAINTEXT"


def _ca(tmp_path: Path) -> Path:
    """A real CA certificate file (the system's bundle, copied)."""
    bundle = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
    target = tmp_path / "ca.pem"
    target.write_bytes(bundle.read_bytes())
    return target


def test_sasl_ssl_maps_tls_and_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ca = _ca(tmp_path)
    security = _settings(
        monkeypatch,
        KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        KAFKA_SASL_MECHANISM="PLAIN",
        KAFKA_SASL_USERNAME="haven",
        KAFKA_SASL_PASSWORD="pw",
        KAFKA_SSL_CAFILE=str(ca),
    ).kafka_security()
    python_kwargs = kafka_python_kwargs(security)
    assert python_kwargs["security_protocol"] == "SASL_SSL"
    assert python_kwargs["ssl_cafile"] == str(ca)
    assert python_kwargs["sasl_plain_password"] == "pw"
    aio = aiokafka_kwargs(security)
    assert isinstance(aio["ssl_context"], ssl.SSLContext)
    assert aio["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    credentials = faust_kwargs(security)["broker_credentials"]
    assert credentials.protocol.value == "SASL_SSL"
    assert isinstance(credentials.ssl_context, ssl.SSLContext)


def test_ssl_only_maps_to_faust_ssl_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    security = _settings(
        monkeypatch, KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_CAFILE=str(_ca(tmp_path))
    ).kafka_security()
    assert "sasl_mechanism" not in kafka_python_kwargs(security)
    assert isinstance(faust_kwargs(security)["broker_credentials"], faust.SSLCredentials)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "KAFKA_SASL_MECHANISM is required"),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "PLAIN"},
            "KAFKA_SASL_USERNAME is required",
        ),
        ({"KAFKA_SASL_USERNAME": "haven"}, "use SASL_PLAINTEXT or SASL_SSL"),
        ({"KAFKA_SSL_CAFILE": "/etc/hostname"}, "use SSL or SASL_SSL"),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": "/nonexistent/ca.pem"},
            "KAFKA_SSL_CAFILE: no such file",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CERTFILE": "/etc/hostname"},
            "KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "TLS"},
            "KAFKA_SECURITY_PROTOCOL\n  Input should be 'PLAINTEXT'",
        ),
        ({"KAFKA_SASL_MECHANISM": "GSSAPI"}, "KAFKA_SASL_MECHANISM\n  Input should be 'PLAIN'"),
        (
            {
                "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                "KAFKA_SASL_MECHANISM": "PLAIN",
                "KAFKA_SASL_USERNAME": "haven",
                "KAFKA_SASL_PASSWORD_FILE": "/nonexistent/pw",
            },
            "KAFKA_SASL_PASSWORD_FILE cannot be read",
        ),
    ],
)
def test_unworkable_settings_fail_at_start_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    assert expected in _error(monkeypatch, **env)


def test_the_password_never_appears_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _error(
        monkeypatch,
        KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        KAFKA_SASL_PASSWORD="hunter2-secret",
    )
    assert "hunter2-secret" not in message


def test_configured_security_is_what_clients_get() -> None:
    before = kafka_security()
    sasl = KafkaSecurity(
        protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="u",
        sasl_password="p",
    )
    try:
        configure_kafka(sasl)
        assert kafka_python_kwargs()["sasl_plain_username"] == "u"
        assert aiokafka_kwargs()["security_protocol"] == "SASL_PLAINTEXT"
    finally:
        configure_kafka(before)
    assert kafka_python_kwargs() == {"security_protocol": "PLAINTEXT"}


def test_the_publisher_sdk_takes_an_explicit_configuration() -> None:
    sasl = KafkaSecurity(
        protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_username="agency",
        sasl_password="x",
    )
    config = producer_config("broker:9093", 1000, sasl)
    assert (config["security_protocol"], config["sasl_mechanism"]) == ("SASL_SSL", "SCRAM-SHA-256")
    assert producer_config("broker:9092", 1000)["security_protocol"] == "PLAINTEXT"
