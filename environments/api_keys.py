"""API key material: generation and hashing; pure functions shared by services, selectors and the route table.

A key is `tk_live_` or `tk_test_` plus 40 random base62 characters (~238 bits). Only its SHA-256 is stored:
a key with that much entropy needs no slow hash, and a digest lookup lets the proxy match a key with one
dictionary probe, without comparing secrets character by character.
"""

import hashlib
import secrets
import string

from .models import API_KEY_LIVE_PREFIX, API_KEY_TEST_PREFIX

KEY_ALPHABET = string.ascii_letters + string.digits
KEY_BODY_LENGTH = 40
DISPLAY_BODY_CHARS = 4  # characters of the body kept visible after the prefix, to tell keys apart


def generate_api_key(*, live: bool = True) -> str:
    prefix = API_KEY_LIVE_PREFIX if live else API_KEY_TEST_PREFIX
    return prefix + "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_BODY_LENGTH))


def hash_api_key(raw_key: str | bytes) -> str:
    data = raw_key.encode("utf-8", "surrogateescape") if isinstance(raw_key, str) else raw_key
    return hashlib.sha256(data).hexdigest()


def display_prefix_of(raw_key: str) -> str:
    prefix = raw_key[: len(API_KEY_LIVE_PREFIX)]
    return prefix + raw_key[len(prefix) : len(prefix) + DISPLAY_BODY_CHARS]


def looks_like_api_key(raw_key: str) -> bool:
    return raw_key.startswith((API_KEY_LIVE_PREFIX, API_KEY_TEST_PREFIX)) and len(raw_key) < 200
