"""AES-256-GCM encryption of secret values under the master key(s).

`KNOXCALL_MASTER_KEY` is a comma list of base64 32-byte keys, newest first: new values are encrypted with
the first, any listed key decrypts (so a rotation is: prepend the new key, run `knoxcall secrets
rotate-key`, then drop the old one). Each value stores the id of its key (a short hash of the key, which
reveals nothing about it). The associated data binds a ciphertext to its (secret, environment), so a
ciphertext copied onto another row does not decrypt.

Without a configured key the embedded profile generates one into DATA_DIR/master.key (mode 0600) and warns;
knoxcall.checks refuses that fallback when DEBUG is off.
"""

import base64
import binascii
import hashlib
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

log = logging.getLogger(__name__)

NONCE_BYTES = 12
KEY_BYTES = 32
MASTER_KEY_FILE = "master.key"


class DecryptionError(Exception):
    """The value cannot be decrypted: its key is gone or the ciphertext was altered."""


@dataclass(frozen=True)
class Keyring:
    keys: tuple[tuple[str, AESGCM], ...]  # (key id, cipher), newest first

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    def cipher(self, key_id: str) -> AESGCM | None:
        return next((cipher for kid, cipher in self.keys if kid == key_id), None)


def key_id_of(raw: bytes) -> str:
    return hashlib.sha256(b"knoxcall-key-id:" + raw).hexdigest()[:12]


def decode_key(text: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured("KNOXCALL_MASTER_KEY: each key must be base64.") from exc
    if len(raw) != KEY_BYTES:
        raise ImproperlyConfigured(f"KNOXCALL_MASTER_KEY: each key must decode to {KEY_BYTES} bytes.")
    return raw


def generate_key() -> str:
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def _embedded_key(data_dir: Path) -> str:
    """The development key in the data dir, created once with owner-only permissions."""
    path = data_dir / MASTER_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        log.warning("Using the development master key in %s: set KNOXCALL_MASTER_KEY in production.", path)
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(generate_key() + "\n")
    log.warning(
        "No KNOXCALL_MASTER_KEY configured: generated a development master key in %s. "
        "Set KNOXCALL_MASTER_KEY in production (DEBUG off refuses to start without it).",
        path,
    )
    return path.read_text().strip()


@lru_cache(maxsize=8)
def _keyring_for(configured: tuple[str, ...], data_dir: str) -> Keyring:
    texts = configured or (_embedded_key(Path(data_dir)),)
    raws = [decode_key(text) for text in texts if text.strip()]
    if not raws:
        raise ImproperlyConfigured("KNOXCALL_MASTER_KEY is empty.")
    return Keyring(tuple((key_id_of(raw), AESGCM(raw)) for raw in raws))


def keyring() -> Keyring:
    """The keys currently configured (cached per configuration, so tests may swap keys with settings)."""
    return _keyring_for(tuple(settings.KNOXCALL_MASTER_KEY), str(settings.DATA_DIR))


def _associated_data(secret_id: str, environment_id: int) -> bytes:
    return f"knoxcall-secret:{secret_id}:{environment_id}".encode()


@sensitive_variables("plaintext")
def encrypt(plaintext: str, *, secret_id: str, environment_id: int) -> tuple[bytes, str]:
    """(nonce + ciphertext, key id) under the newest key."""
    ring = keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = ring.keys[0][1].encrypt(nonce, plaintext.encode(), _associated_data(secret_id, environment_id))
    return nonce + sealed, ring.current_id


@sensitive_variables("plain")
def decrypt(ciphertext: bytes, key_id: str, *, secret_id: str, environment_id: int) -> str:
    cipher = keyring().cipher(key_id)
    if cipher is None:
        raise DecryptionError(f"master key {key_id} is not configured")
    data = bytes(ciphertext)
    try:
        plain = cipher.decrypt(
            data[:NONCE_BYTES], data[NONCE_BYTES:], _associated_data(secret_id, environment_id)
        )
        return plain.decode()
    except (InvalidTag, ValueError, UnicodeDecodeError) as exc:
        raise DecryptionError("the ciphertext failed authentication") from exc
