"""A stand-in Web Push service on 127.0.0.1 that also plays the browsers subscribed to it.

`subscribe()` is what a browser's `pushManager.subscribe` does: a fresh P-256 key pair and
auth secret, an endpoint `/push/<id>` here, and the application server key it was given (a
push with another key is refused, as real services do). A POST to an endpoint is checked as
RFC 8030/8291/8292 say: the VAPID Authorization (ES256 JWT verified with its `k` key, audience
this origin, expiry in the future and at most 24 hours away, a mailto:/https: subject), TTL
and `Content-Encoding: aes128gcm`; then the body is decrypted with the browser's private key
and auth secret, written here independently of bot/webpush.py, and the JSON message kept.

Tests can make an endpoint gone (410) or script answers (429 with Retry-After, 500)."""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.fakes.zalo_servers import _Threaded

MAX_BODY = 4096
MAX_JWT_LIFETIME = 86400
SKEW = 60  # seconds of clock difference forgiven, as services do


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _point(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def _hmac(key: bytes, data: bytes) -> bytes:
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(data)
    return mac.finalize()


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 spelled out (one block is enough for 32 bytes or fewer)."""
    return _hmac(_hmac(salt, ikm), info + b"\x01")[:length]


@dataclass
class Browser:
    """A subscription as the browser holds it: what it gives the app, and its secrets."""

    id: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    application_server_key: str | None = None

    @property
    def p256dh(self) -> str:
        return _b64(_point(self.private_key))

    @property
    def auth(self) -> str:
        return _b64(self.auth_secret)

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8188 aes128gcm with the RFC 8291 key derivation, from the receiving end."""
        if len(body) < 21:
            raise ValueError("no aes128gcm header")
        salt, record_size, id_length = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        sender_public = body[21 : 21 + id_length]
        records = body[21 + id_length :]
        if record_size < 18 or id_length != 65:
            raise ValueError("bad aes128gcm header")
        if len(records) > record_size:
            raise ValueError("more than one record")  # a push is one record
        sender = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender_public)
        shared = self.private_key.exchange(ec.ECDH(), sender)
        ua_public = _point(self.private_key)
        info = b"WebPush: info\x00" + ua_public + sender_public
        ikm = _hkdf(self.auth_secret, shared, info, 32)
        key = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
        nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
        plain = AESGCM(key).decrypt(nonce, records, None)
        unpadded = plain.rstrip(b"\x00")
        if not unpadded.endswith(b"\x02"):
            raise ValueError("no last-record delimiter")
        return unpadded[:-1]


@dataclass
class Push:
    """A push the service took, decrypted."""

    browser: str
    message: dict[str, Any]
    ttl: int
    urgency: str | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Refusal:
    browser: str
    status: int
    reason: str


class FakePushService(_Threaded):
    def __init__(self) -> None:
        super().__init__()
        self.browsers: dict[str, Browser] = {}
        self.received: list[Push] = []
        self.refused: list[Refusal] = []
        self.gone: set[str] = set()
        # browser id -> answers to give before taking pushes again: (status, headers)
        self.scripted: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self.requests = 0
        self._ids = itertools.count(1)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/push/{id}", self._push)

    # --- what tests do -------------------------------------------------------------------

    def subscribe(self, application_server_key: str | None = None) -> Browser:
        """A browser subscribes (pushManager.subscribe with this applicationServerKey)."""
        browser_id = f"{next(self._ids)}-{secrets.token_urlsafe(8)}"
        browser = Browser(
            id=browser_id,
            endpoint=f"{self.root}/push/{browser_id}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth_secret=secrets.token_bytes(16),
            application_server_key=application_server_key,
        )
        with self.lock:
            self.browsers[browser_id] = browser
        return browser

    def unsubscribe(self, browser: Browser) -> None:
        """The browser dropped its subscription: its endpoint answers 410 from now on."""
        with self.lock:
            self.gone.add(browser.id)

    def answer(self, browser: Browser, status: int, retry_after: str | None = None) -> None:
        """Answer the next push to this browser with `status` (429, 500, …) instead."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        with self.lock:
            self.scripted.setdefault(browser.id, []).append((status, headers))

    def messages_to(self, browser: Browser) -> list[dict[str, Any]]:
        with self.lock:
            return [p.message for p in self.received if p.browser == browser.id]

    # --- the push service ------------------------------------------------------------------

    async def _push(self, request: web.Request) -> web.Response:
        browser_id = request.match_info["id"]
        body = await request.read()
        with self.lock:
            self.requests += 1
            browser = self.browsers.get(browser_id)
            gone = browser_id in self.gone
        if browser is None:
            return self._refuse(browser_id, 404, "no such subscription")
        if gone:
            return self._refuse(browser_id, 410, "subscription expired or unsubscribed")
        try:
            key = self.check_vapid(request.headers.get("Authorization", ""))
        except ValueError as error:
            return self._refuse(browser_id, 401, f"VAPID: {error}")
        if browser.application_server_key is not None and key != browser.application_server_key:
            return self._refuse(browser_id, 403, "VAPID key is not the subscription's")
        ttl = request.headers.get("TTL", "")
        if not ttl.isdigit():
            return self._refuse(browser_id, 400, "TTL header missing")
        if request.headers.get("Content-Encoding") != "aes128gcm":
            return self._refuse(browser_id, 415, "Content-Encoding must be aes128gcm")
        if len(body) > MAX_BODY:
            return self._refuse(browser_id, 413, f"payload of {len(body)} bytes")
        with self.lock:
            scripted = self.scripted.get(browser_id)
            answer = scripted.pop(0) if scripted else None
        if answer is not None:
            status, headers = answer
            with self.lock:
                self.refused.append(Refusal(browser_id, status, "scripted"))
            return web.Response(status=status, headers=headers, text="scripted answer")
        try:
            message = json.loads(browser.decrypt(body))
        except (ValueError, InvalidTag) as error:
            return self._refuse(browser_id, 400, f"undecryptable: {error!r}")
        with self.lock:
            self.received.append(
                Push(
                    browser_id,
                    message,
                    int(ttl),
                    request.headers.get("Urgency"),
                    dict(request.headers),
                )
            )
        return web.Response(status=201, headers={"Location": f"/message/{len(self.received)}"})

    def _refuse(self, browser_id: str, status: int, reason: str) -> web.Response:
        with self.lock:
            self.refused.append(Refusal(browser_id, status, reason))
        return web.Response(status=status, text=reason)

    def check_vapid(self, authorization: str) -> str:
        """RFC 8292 §3: `vapid t=<JWT>, k=<key>`; returns the key when the JWT holds."""
        scheme, _, params = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError(f"scheme {scheme!r}, not vapid")
        fields = {}
        for part in params.split(","):
            name, _, value = part.strip().partition("=")
            fields[name.strip().lower()] = value.strip()
        token, key = fields.get("t", ""), fields.get("k", "")
        if not token or not key:
            raise ValueError("t and k are both needed")
        try:
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(key))
            encoded_header, encoded_claims, encoded_signature = token.split(".")
            header = json.loads(_unb64(encoded_header))
            claims = json.loads(_unb64(encoded_claims))
            signature = _unb64(encoded_signature)
        except (ValueError, TypeError) as error:
            raise ValueError(f"unreadable: {error!r}") from None
        if header.get("alg") != "ES256" or len(signature) != 64:
            raise ValueError("not an ES256 JWT")
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        try:
            public.verify(
                encode_dss_signature(r, s),
                f"{encoded_header}.{encoded_claims}".encode("ascii"),
                ec.ECDSA(hashes.SHA256()),
            )
        except InvalidSignature:
            raise ValueError("signature does not verify with k") from None
        if claims.get("aud") != self.root:
            raise ValueError(f"aud {claims.get('aud')!r} is not {self.root}")
        exp, now = claims.get("exp"), time.time()
        if not isinstance(exp, int) or exp <= now - SKEW:
            raise ValueError("expired")
        if exp > now + MAX_JWT_LIFETIME + SKEW:
            raise ValueError("expires more than 24 hours ahead")
        subject = claims.get("sub", "")
        if not isinstance(subject, str) or not subject.startswith(("mailto:", "https:")):
            raise ValueError("sub must be a mailto: or https: contact")
        return key
