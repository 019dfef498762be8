"""Encryption at rest of stored response bodies, with AES-256-GCM from ``cryptography``.

Turned on by the option ``encryption_keys`` (``IDEMPOTENCY_ENCRYPTION_KEYS`` in Django
and Flask), a list of keys: bodies are encrypted with the first and decrypted with
whichever of them wrote them, so a key is rotated by putting a new one first and
dropping the old one once the records it wrote have expired. This module, and with it
``cryptography``, is imported only then (``pip install
'idempotency-middleware[encryption]'``).

Each body is stored as a version byte string, the 4-byte id of its key, a 12-byte
nonce and the ciphertext with its tag. The record's lookup key is authenticated with
it, so a body copied to another record does not decrypt. The nonce is derived from the
key, the record, its owner token (random per request) and the body, by a keyed hash
(as in SIV modes): a completion the renewer retries encrypts to the same bytes, so a
store recognises its own earlier write, and two different bodies never share a nonce
but by a 96-bit collision. A body that no listed key
decrypts raises :class:`~idempotency_middleware.errors.RecordDecodeError`: the request
is answered 503 ``record-undecodable`` and not run. Status and headers are stored in
clear; a record completed without a body holds nothing to encrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import replace

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from idempotency_middleware.errors import ConfigurationError, RecordDecodeError
from idempotency_middleware.records import Claim, Record, StoredResponse
from idempotency_middleware.sealed import SEALED_PREFIX
from idempotency_middleware.stores.base import Store
from idempotency_middleware.stores.wrapping import StoreWrapper

__all__ = ["EncryptedStore", "Keyring", "generate_key"]

_VERSION = SEALED_PREFIX
_KEY_BYTES = 32
_ID_BYTES = 4
_NONCE_BYTES = 12
_TAG_BYTES = 16
_HEADER = len(_VERSION) + _ID_BYTES + _NONCE_BYTES
_FORM = (
    "32 random bytes in URL-safe base64 (44 characters), such as "
    "idempotency_middleware.encryption.generate_key() or Fernet.generate_key() returns"
)


def generate_key() -> str:
    """A new random key, in the form ``encryption_keys`` takes."""
    return base64.urlsafe_b64encode(os.urandom(_KEY_BYTES)).decode("ascii")


def _key_bytes(index: int, key: object) -> bytes:
    # Never put the value in a message: it is a secret.
    if isinstance(key, bytes) and len(key) == _KEY_BYTES:
        return key
    if not isinstance(key, (str, bytes)):
        raise ConfigurationError(
            f"encryption_keys[{index}] must be a str or bytes key, not a "
            f"{type(key).__name__}: give {_FORM}"
        )
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii") if isinstance(key, str) else key)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raw = b""
    if len(raw) != _KEY_BYTES:
        raise ConfigurationError(f"encryption_keys[{index}] is not a valid key: give {_FORM}")
    return raw


class Keyring:
    """The keys of ``encryption_keys``: the first encrypts, any of them decrypts."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise ConfigurationError(f"encryption_keys must hold at least one key: {_FORM}")
        self._ciphers: dict[bytes, AESGCM] = {}
        for index, key in enumerate(keys):
            raw = _key_bytes(index, key)
            key_id = hashlib.sha256(b"idempotency key id\0" + raw).digest()[:_ID_BYTES]
            self._ciphers.setdefault(key_id, AESGCM(raw))
            if index == 0:
                self._current = key_id
                self._nonce_key = hashlib.sha256(b"idempotency nonce key\0" + raw).digest()

    def encrypt(self, data: bytes, associated: bytes, salt: bytes) -> bytes:
        """``data`` encrypted with the first key, bound to ``associated``; the same
        arguments give the same bytes, so ``salt`` must be new for each writer."""
        framed = b"".join(len(part).to_bytes(8, "big") + part for part in (associated, salt))
        nonce = hmac.new(self._nonce_key, framed + data, hashlib.sha256).digest()[:_NONCE_BYTES]
        sealed = self._ciphers[self._current].encrypt(nonce, data, associated)
        return _VERSION + self._current + nonce + sealed

    def decrypt(self, data: bytes, associated: bytes) -> bytes:
        """What :meth:`encrypt` was given; :class:`RecordDecodeError` when no key opens it."""
        if not data.startswith(_VERSION) or len(data) < _HEADER + _TAG_BYTES:
            raise RecordDecodeError("stored body is not encrypted, or not in a known format")
        key_id = data[len(_VERSION) : len(_VERSION) + _ID_BYTES]
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise RecordDecodeError(
                "stored body was encrypted with a key that is not in encryption_keys"
            )
        nonce = data[len(_VERSION) + _ID_BYTES : _HEADER]
        try:
            return cipher.decrypt(nonce, data[_HEADER:], associated)
        except InvalidTag as exc:
            raise RecordDecodeError("stored body failed authentication") from exc


class EncryptedStore(StoreWrapper):
    """``inner``, holding the bodies of stored responses encrypted with ``keyring``."""

    def __init__(self, inner: Store, keyring: Keyring) -> None:
        super().__init__(inner)
        self.keyring = keyring

    def _sealed(
        self, key: str, owner: str, response: StoredResponse | None
    ) -> StoredResponse | None:
        if response is None:
            return None
        body = self.keyring.encrypt(response.body, key.encode(), owner.encode())
        return replace(response, body=body)

    def _opened(self, key: str, record: Record | None) -> Record | None:
        if record is None or record.response is None:
            return record
        body = self.keyring.decrypt(record.response.body, key.encode())
        return replace(record, response=replace(record.response, body=body))

    def _claim(self, key: str, claim: Claim) -> Claim:
        if claim.record is None or claim.record.response is None:
            return claim
        return replace(claim, record=self._opened(key, claim.record))

    def claim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        return self._claim(key, self.inner.claim(key, owner, fingerprint, lease))

    def complete(self, key: str, owner: str, response: StoredResponse | None, ttl: float) -> bool:
        return self.inner.complete(key, owner, self._sealed(key, owner, response), ttl)

    def get(self, key: str) -> Record | None:
        return self._opened(key, self.inner.get(key))

    async def aclaim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        return self._claim(key, await self.inner.aclaim(key, owner, fingerprint, lease))

    async def acomplete(
        self, key: str, owner: str, response: StoredResponse | None, ttl: float
    ) -> bool:
        return await self.inner.acomplete(key, owner, self._sealed(key, owner, response), ttl)

    async def aget(self, key: str) -> Record | None:
        return self._opened(key, await self.inner.aget(key))
