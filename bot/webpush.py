"""Web Push: notices to officers' browsers, with no messenger in between.

- Message encryption: RFC 8291 over the aes128gcm content coding of RFC 8188 (one record).
- Sender identification: VAPID, RFC 8292 (an ES256 JWT and the app's public key).
- Delivery: RFC 8030, a POST to each subscription's endpoint.

The VAPID key pair is made on first use and kept in `app_secret`, so every process signs with
the one key the browsers subscribed with (`application_server_key`)."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlmodel import Session

from bot.outbox_sender import Rejected, RetryLater
from db import push
from db.clock import utcnow
from db.engine import Database
from db.models import Outbox

log = logging.getLogger(__name__)
CHANNEL = "webpush"
RECORD_SIZE = 4096
# What every push service must take (RFC 8030 §7.2): the 86-byte header, the text, its
# delimiter and the 16-byte tag in 4096 octets.
MAX_BODY = 4096
HEADER_SIZE = 16 + 4 + 1 + 65
MAX_PLAINTEXT = MAX_BODY - HEADER_SIZE - 1 - 16
TTL = 86400  # a day: a notice older than that is stale, the console shows it anyway
JWT_LIFETIME = 12 * 3600  # RFC 8292: no more than 24 hours
TIMEOUT = 15.0
CURVE = ec.SECP256R1()


# --- encodings ---------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """base64url as browsers give it (no padding); padded or standard base64 is taken too."""
    text = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_bytes(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    """A P-256 public key as the uncompressed point (65 bytes, 0x04 first)."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def private_from_b64url(text: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key from its raw 32-byte scalar in base64url."""
    return ec.derive_private_key(int.from_bytes(unb64url(text), "big"), CURVE)


def private_to_b64url(key: ec.EllipticCurvePrivateKey) -> str:
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


# --- RFC 8291 message encryption -----------------------------------------------------------


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def encrypt(
    plaintext: bytes,
    p256dh: str,
    auth: str,
    *,
    sender: ec.EllipticCurvePrivateKey | None = None,
    salt: bytes | None = None,
) -> bytes:
    """The aes128gcm body for one subscription: header (salt, record size, the sender's
    ephemeral public key) and one record. `sender` and `salt` are fresh unless given (only
    tests give them: reusing either would reuse the content key)."""
    if len(plaintext) > MAX_PLAINTEXT:
        raise ValueError(f"push message of {len(plaintext)} bytes over {MAX_PLAINTEXT}")
    ua_public, auth_secret = unb64url(p256dh), unb64url(auth)
    if len(ua_public) != 65 or len(auth_secret) != 16:
        raise ValueError("subscription keys of the wrong size")
    ua_key = ec.EllipticCurvePublicKey.from_encoded_point(CURVE, ua_public)
    sender = sender or ec.generate_private_key(CURVE)
    salt = os.urandom(16) if salt is None else salt
    as_public = public_bytes(sender)
    shared = sender.exchange(ec.ECDH(), ua_key)
    # RFC 8291 §3.3-3.4: the auth secret and both public keys go into the input key ...
    ikm = _hkdf(auth_secret, shared, b"WebPush: info\x00" + ua_public + as_public, 32)
    # ... then RFC 8188 §2.2-2.3 with the salt: the content key and the nonce.
    cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
    # One record, so it is the last: delimiter 0x02, no padding; sequence 0 leaves the nonce.
    record = AESGCM(cek).encrypt(nonce, plaintext + b"\x02", None)
    header = salt + RECORD_SIZE.to_bytes(4, "big") + bytes([len(as_public)]) + as_public
    return header + record


# --- RFC 8292 VAPID ------------------------------------------------------------------------


# The browsers' push services: an endpoint elsewhere would make this server post to it.
PUSH_SERVICES = (
    "fcm.googleapis.com",  # Chrome, Edge on Android, Samsung Internet
    ".push.services.mozilla.com",  # Firefox
    ".notify.windows.com",  # Edge on Windows
    ".push.apple.com",  # Safari
)


def endpoint_allowed(url: str, local: bool = False) -> bool:
    """A subscription's endpoint may be posted to: https at a known push service; with
    `local` (a machine trying it out, the tests' stand-in), also http on 127.0.0.1."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018  (a malformed port raises here)
    except ValueError:
        return False
    if parts.username or parts.password or len(url) > 2000:
        return False
    if local and parts.scheme == "http" and host == "127.0.0.1":
        return True
    return parts.scheme == "https" and any(
        host == service.lstrip(".") or (service.startswith(".") and host.endswith(service))
        for service in PUSH_SERVICES
    )


def origin(url: str) -> str:
    """The push resource's origin, the JWT's audience: scheme://host[:port], default port
    left out."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if not scheme or not host:
        raise ValueError(f"not an absolute URL: {url!r}")
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(scheme)
    port = parts.port
    return f"{scheme}://{host}" if port is None or port == default else f"{scheme}://{host}:{port}"


@dataclass(frozen=True)
class Vapid:
    """The app's VAPID key pair."""

    private_key: ec.EllipticCurvePrivateKey

    @property
    def public_key(self) -> str:
        """The application server key, base64url of the uncompressed point: what the browser's
        `pushManager.subscribe({applicationServerKey})` takes."""
        return b64url(public_bytes(self.private_key))

    def authorization(
        self, endpoint: str, subject: str, now: float, lifetime: int = JWT_LIFETIME
    ) -> str:
        """The Authorization header for a push to `endpoint`: `vapid t=<JWT>, k=<key>`."""
        if not 0 < lifetime <= 86400:
            raise ValueError("a VAPID token lives at most 24 hours")
        header = {"typ": "JWT", "alg": "ES256"}
        claims = {"aud": origin(endpoint), "exp": int(now) + lifetime, "sub": subject}
        signing_input = ".".join(
            b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        der = self.private_key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)  # JWS wants r and s as 32 bytes each, not DER
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"vapid t={signing_input}.{b64url(signature)}, k={self.public_key}"


def check_subject(subject: str) -> str:
    """RFC 8292 §2.1: a contact for the push service's operator, mailto: or https:."""
    if not subject.startswith(("mailto:", "https://")):
        raise ValueError(f"the VAPID subject must be a mailto: or https: URI, not {subject!r}")
    return subject


def load_vapid(session: Session, now: datetime) -> Vapid:
    """The app's VAPID keys, made and stored by the first caller anywhere."""
    stored = push.vapid_private_key(
        session, lambda: private_to_b64url(ec.generate_private_key(CURVE)), now
    )
    return Vapid(private_from_b64url(stored))


def application_server_key(db: Database) -> str:
    """The public key a browser subscribes with (blocking: call through `db.run`)."""
    with db.transaction() as session:
        return load_vapid(session, utcnow()).public_key


# --- the channel ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One subscription, as read for a send."""

    id: int
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class _Outcome:
    target: Target
    kind: str  # "ok", "gone", "skip", "retry"
    reason: str = ""
    after: float | None = None
    slow_down: bool = False


def notice_body(payload: dict[str, Any]) -> bytes:
    """The JSON the console's service worker shows; a body too long for one push is cut."""
    message: dict[str, Any] = {
        "title": str(payload.get("title", "")),
        "body": str(payload.get("body", "")),
        "url": str(payload.get("url", "")),
        "tag": str(payload.get("tag", "")),
        "urgent": bool(payload.get("urgent", False)),
    }
    encoded = json.dumps(message, ensure_ascii=False).encode("utf-8")
    body = str(message["body"])
    while len(encoded) > MAX_PLAINTEXT and body:
        over = len(encoded) - MAX_PLAINTEXT  # bytes; each character cut is one or more
        kept = body[: max(0, len(body) - over - 1)]
        body = kept + "…" if kept else ""
        message["body"] = body
        encoded = json.dumps(message, ensure_ascii=False).encode("utf-8")
    if len(encoded) > MAX_PLAINTEXT:
        raise Rejected(f"push notice of {len(encoded)} bytes even without its body")
    return encoded


def retry_after(value: str | None, now: float) -> float | None:
    """A Retry-After header: seconds, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


class WebPushChannel:
    """Sends outbox rows of channel "webpush" (recipient: the officer's id) to every browser
    the officer subscribed. One browser taking it is enough; a browser whose subscription is
    gone is forgotten; an officer with none left gets nothing (the row fails, never blocks)."""

    def __init__(
        self,
        *,
        db: Database,
        subject: str,
        timeout: float = TIMEOUT,
        ttl: int = TTL,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db, self.subject = db, check_subject(subject)
        self.timeout, self.ttl, self.clock = timeout, ttl, clock
        self._client: httpx.AsyncClient | None = None
        self._vapid: Vapid | None = None

    async def start(self) -> None:
        await self.vapid()

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def vapid(self) -> Vapid:
        if self._vapid is None:
            self._vapid = await self.db.run(self._load_vapid)
        return self._vapid

    def _load_vapid(self) -> Vapid:
        with self.db.transaction() as session:
            return load_vapid(session, self.clock())

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        return self._client

    async def send_outbox(self, row: Outbox) -> None:
        try:
            officer_id = int(row.recipient)
        except ValueError:
            raise Rejected(f"web push recipient {row.recipient!r} is no officer id") from None
        targets = await self.db.run(self._targets, officer_id)
        if not targets:
            raise Rejected(f"officer {officer_id} has no browser subscribed to notices")
        body = notice_body(row.payload)
        urgent = bool(row.payload.get("urgent", False))
        vapid = await self.vapid()
        outcomes = await asyncio.gather(
            *(self._push(vapid, target, body, urgent) for target in targets)
        )
        ok = [o.target.id for o in outcomes if o.kind == "ok"]
        gone = [o.target.id for o in outcomes if o.kind == "gone"]
        if ok or gone:
            await self.db.record(self._note, ok, gone)
        if ok:
            return
        retries = [o for o in outcomes if o.kind == "retry"]
        if retries:
            waits = [o.after for o in retries if o.after is not None]
            raise RetryLater(
                max(waits) if waits else None,
                "; ".join(o.reason for o in retries)[:255],
                slow_down=any(o.slow_down for o in retries),
            )
        reasons = "; ".join(f"{o.target.id}: {o.reason}" for o in outcomes)
        raise Rejected(f"no browser of officer {officer_id} took the notice ({reasons})"[:255])

    async def _push(self, vapid: Vapid, target: Target, body: bytes, urgent: bool) -> _Outcome:
        try:
            content = encrypt(body, target.p256dh, target.auth)
            headers = {
                "TTL": str(self.ttl),
                "Content-Encoding": "aes128gcm",
                "Content-Type": "application/octet-stream",
                "Urgency": "high" if urgent else "normal",
                "Authorization": vapid.authorization(target.endpoint, self.subject, time.time()),
            }
        except ValueError as error:  # keys a browser never gives: that subscription is broken
            log.warning("web push subscription %s unusable: %s", target.id, error)
            return _Outcome(target, "skip", f"unusable subscription: {error}")
        try:
            response = await self.client().post(target.endpoint, content=content, headers=headers)
        except httpx.HTTPError as error:
            return _Outcome(target, "retry", f"push service unreachable: {error!r}")
        status = response.status_code
        if status in (200, 201, 202):
            return _Outcome(target, "ok")
        if status in (404, 410):
            log.info("web push subscription %s gone (%s): forgotten", target.id, status)
            return _Outcome(target, "gone", f"gone ({status})")
        if status == 429 or status >= 500:
            return _Outcome(
                target,
                "retry",
                f"push service {status}",
                retry_after(response.headers.get("Retry-After"), time.time()),
                slow_down=status == 429,
            )
        # Only the status: what a push service (or anything posing as one) answered stays out.
        log.warning("web push to subscription %s refused: %s", target.id, status)
        return _Outcome(target, "skip", f"refused ({status})")

    def _targets(self, officer_id: int) -> list[Target]:
        with self.db.transaction() as session:
            return [
                Target(s.id, s.endpoint, s.p256dh, s.auth)
                for s in push.for_officer(session, officer_id)
                if s.id is not None
            ]

    def _note(self, ok: list[int], gone: list[int]) -> None:
        with self.db.transaction() as session:
            push.mark_ok(session, ok, self.clock())
            push.remove_gone(session, gone)
