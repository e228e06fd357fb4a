"""The master key: 32 random bytes, base64, that wraps every data key.

Sources, in order: ``HAVEN_MASTER_KEY``, ``HAVEN_MASTER_KEY_FILE``, and in
development only a key generated once in the data dir with mode 0600.  In
production a missing key is an error: Haven never invents one there.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
from pathlib import Path

from infra.settings import CommonSettings

MASTER_KEY_BYTES = 32
DEV_KEY_FILENAME = "master.key"


class MasterKeyError(RuntimeError):
    """The master key is missing, malformed or unsafely stored."""


def decode_master_key(encoded: str, origin: str) -> bytes:
    """Decode a base64 master key; ``origin`` names where it came from (never the value)."""
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MasterKeyError(f"{origin}: not valid base64") from exc
    if len(key) != MASTER_KEY_BYTES:
        raise MasterKeyError(f"{origin}: must decode to {MASTER_KEY_BYTES} bytes, got {len(key)}")
    return key


def _read_key_file(path: Path, *, production: bool) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise MasterKeyError(f"HAVEN_MASTER_KEY_FILE: {path} does not exist") from exc
    if production and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise MasterKeyError(f"{path}: readable by group or others; chmod 600 it")
    return decode_master_key(path.read_text(encoding="ascii"), str(path))


def _generate_dev_key(path: Path) -> bytes:
    """Create the development key file atomically with mode 0600.

    The key is written whole to a file of its own and then linked into place
    (``link`` fails when the name exists), so a process starting at the same
    moment (the worker's children do) reads either no file or the whole key,
    never an empty one; the first process to link wins, the others read its
    key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    encoded = base64.b64encode(secrets.token_bytes(MASTER_KEY_BYTES)).decode("ascii")
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(encoded + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(draft, path)
    except FileExistsError:
        return _read_key_file(path, production=False)
    finally:
        draft.unlink(missing_ok=True)
    return decode_master_key(encoded, str(path))


def load_master_key(settings: CommonSettings) -> bytes:
    """Return the 32-byte master key, generating one only in development."""
    if settings.master_key is not None:
        return decode_master_key(settings.master_key.get_secret_value(), "HAVEN_MASTER_KEY")
    if settings.master_key_file is not None:
        return _read_key_file(settings.master_key_file, production=settings.is_production)
    if settings.is_production:
        raise MasterKeyError(
            "no master key: set HAVEN_MASTER_KEY or HAVEN_MASTER_KEY_FILE (production mode)"
        )
    dev_path = settings.data_dir / DEV_KEY_FILENAME
    if dev_path.exists():
        return _read_key_file(dev_path, production=False)
    return _generate_dev_key(dev_path)
