"""Personal data sealed at rest: AES-256-GCM with a key id stored beside each value, and
keyed tags that link a reporter to their reports without naming them.

A sealed text reads `enc1:<key id>:<base64(nonce | ciphertext | tag)>`; sealed bytes are
`ENC1 <len(key id)> <key id> <nonce> <ciphertext | tag>`. The associated data is the column's
name, so a value moved to another column (a whereabouts pasted over an account) fails to open
instead of being shown as something it is not. The key ring is the process's: installed once
at start-up from settings (`install`), as SQLAlchemy's column types have no other context.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import LargeBinary, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

TEXT_PREFIX = "enc1:"
BYTES_PREFIX = b"ENC1"
NONCE = 12
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class NoKey(Exception):
    """No key, a malformed key, or a value sealed with a key the ring does not hold."""


class Tampered(Exception):
    """A sealed value failed authentication: changed, moved between columns or truncated."""


@dataclass(frozen=True)
class KeyRing:
    """Data keys by id; `current` seals new values, every key still opens old ones."""

    keys: dict[str, bytes]
    current: str

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """Lines or commas of `id:base64key`; the last one is current (rotation appends)."""
        keys: dict[str, bytes] = {}
        current = ""
        for entry in re.split(r"[,\n]", text):
            entry = entry.split("#", 1)[0].strip()
            if not entry:
                continue
            key_id, _, encoded = entry.partition(":")
            if not KEY_ID.match(key_id):
                raise NoKey(f"mã khoá không hợp lệ: {key_id!r}")
            try:
                key = base64.urlsafe_b64decode(encoded.strip() + "=" * (-len(encoded) % 4))
            except ValueError as error:
                raise NoKey(f"khoá {key_id} không đọc được") from error
            if len(key) != 32:
                raise NoKey(f"khoá {key_id} phải dài 32 byte (AES-256)")
            if (
                key_id in keys
            ):  # a second key under one id would make the first one's data unreadable
                raise NoKey(f"mã khoá {key_id} xuất hiện hai lần: mỗi khoá một mã riêng")
            keys[key_id], current = key, key_id
        if not keys:
            raise NoKey("chưa có khoá nào")
        return cls(keys, current)

    @staticmethod
    def new_line(key_id: str) -> str:
        key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        return f"{key_id}:{key}"

    def tag_keys(self) -> list[bytes]:
        """The reporter-tag keys, current first: derived per data key, so rotating the data
        key rotates the tags too (the rotation recomputes them from the sealed address)."""
        order = [self.current] + [k for k in self.keys if k != self.current]
        return [hmac.digest(self.keys[k], b"canhgiac reporter tag v1", "sha256") for k in order]


_ring: KeyRing | None = None


def install(ring: KeyRing) -> None:
    global _ring
    _ring = ring


def ring() -> KeyRing:
    if _ring is None:
        raise NoKey("chưa nạp khoá mã hoá dữ liệu (DATA_KEYS hoặc DATA_KEY_FILE)")
    return _ring


def load_key_file(path: Path) -> KeyRing:
    return KeyRing.parse(path.read_text(encoding="utf-8"))


def create_key_file(path: Path) -> KeyRing:
    """A new key file readable by its owner only (`make run`'s first start)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("# Khoá mã hoá dữ liệu cá nhân của Cảnh giác. Mất khoá là mất dữ liệu.\n")
        handle.write(KeyRing.new_line("k1") + "\n")
    return load_key_file(path)


# --- values -------------------------------------------------------------------------------


def seal_bytes(plain: bytes, aad: str) -> bytes:
    keys = ring()
    nonce = secrets.token_bytes(NONCE)
    sealed = AESGCM(keys.keys[keys.current]).encrypt(nonce, plain, aad.encode())
    kid = keys.current.encode()
    return BYTES_PREFIX + bytes([len(kid)]) + kid + nonce + sealed


def open_bytes(value: bytes, aad: str, legacy: bool = False) -> bytes:
    """The sealed bytes opened. An unsealed value is refused (someone wrote it around the
    app), unless `legacy`: the migration and the reseal take values from before sealing."""
    if not value.startswith(BYTES_PREFIX):
        if legacy:
            return value
        raise Tampered(f"giá trị ở {aad} không được mã hoá")
    try:
        size = value[len(BYTES_PREFIX)]
        start = len(BYTES_PREFIX) + 1
        kid = value[start : start + size].decode()
        body = value[start + size :]
    except (IndexError, UnicodeDecodeError) as error:
        raise Tampered(f"giá trị mã hoá ở {aad} bị hỏng") from error
    return _open(kid, body[:NONCE], body[NONCE:], aad)


def seal_text(plain: str, aad: str) -> str:
    keys = ring()
    nonce = secrets.token_bytes(NONCE)
    sealed = AESGCM(keys.keys[keys.current]).encrypt(nonce, plain.encode(), aad.encode())
    return f"{TEXT_PREFIX}{keys.current}:{base64.b64encode(nonce + sealed).decode()}"


def open_text(value: str, aad: str, legacy: bool = False) -> str:
    """The sealed text opened; an unsealed value is refused unless `legacy` (as bytes)."""
    if not value.startswith(TEXT_PREFIX):
        if legacy:
            return value
        raise Tampered(f"giá trị ở {aad} không được mã hoá")
    kid, _, encoded = value[len(TEXT_PREFIX) :].partition(":")
    try:
        body = base64.b64decode(encoded, validate=True)
    except ValueError as error:
        raise Tampered(f"giá trị mã hoá ở {aad} bị hỏng") from error
    try:
        return _open(kid, body[:NONCE], body[NONCE:], aad).decode()
    except UnicodeDecodeError as error:
        raise Tampered(f"giá trị mã hoá ở {aad} bị hỏng") from error


def key_id_of(value: str | bytes | None) -> str | None:
    """The id of the key that sealed a stored value; "" for a value not sealed at all."""
    if value is None:
        return None
    if isinstance(value, bytes):
        if not value.startswith(BYTES_PREFIX):
            return ""
        size = value[len(BYTES_PREFIX)]
        return value[len(BYTES_PREFIX) + 1 : len(BYTES_PREFIX) + 1 + size].decode()
    if not value.startswith(TEXT_PREFIX):
        return ""
    return value[len(TEXT_PREFIX) :].partition(":")[0]


def _open(kid: str, nonce: bytes, sealed: bytes, aad: str) -> bytes:
    key = ring().keys.get(kid)
    if key is None:
        raise NoKey(f"dữ liệu được mã hoá bằng khoá {kid!r}, khoá này không có trong DATA_KEYS")
    try:
        return AESGCM(key).decrypt(nonce, sealed, aad.encode())
    except (InvalidTag, ValueError) as error:  # ValueError: a nonce cut short
        raise Tampered(f"giá trị mã hoá ở {aad} không xác thực được") from error


def reporter_tags(owner: str) -> list[str]:
    """The keyed tags of a reporter's address ("channel:user_id"), current key's first:
    what a report keeps instead of a link to the resident. Without the key the tag says
    nothing; with it, the app finds a resident's reports by computing their tags."""
    return [hmac.new(key, owner.encode(), hashlib.sha256).hexdigest() for key in ring().tag_keys()]


def reporter_tag(owner: str) -> str:
    return reporter_tags(owner)[0]


# --- column types -------------------------------------------------------------------------


class SealedText(TypeDecorator[str]):
    """Text sealed with the current key as it is written, opened as it is read."""

    impl = Text
    cache_ok = True

    def __init__(self, aad: str) -> None:
        super().__init__()
        self.aad = aad

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else seal_text(value, self.aad)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else open_text(value, self.aad)


class SealedBytes(TypeDecorator[bytes]):
    impl = LargeBinary
    cache_ok = True

    def __init__(self, aad: str) -> None:
        super().__init__()
        self.aad = aad

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        return None if value is None else seal_bytes(bytes(value), self.aad)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        return None if value is None else open_bytes(bytes(value), self.aad)


class SealedJSON(TypeDecorator[Any]):
    """A JSON document (a conversation's draft, a queued message, a set-aside update) sealed
    as one text."""

    impl = Text
    cache_ok = True

    def __init__(self, aad: str) -> None:
        super().__init__()
        self.aad = aad

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return seal_text(json.dumps(value, ensure_ascii=False, separators=(",", ":")), self.aad)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):  # a JSON column not yet migrated
            return value
        return json.loads(open_text(value, self.aad))
