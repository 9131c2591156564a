"""A tiny OpenID Connect provider for tests: real HTTP, real RS256-signed ID tokens, no login form.

It speaks just enough of OIDC Core (authorization code flow, PKCE S256, client_secret_basic/post) for
Streamlit's ``st.login`` (Authlib underneath): a discovery document, ``/authorize`` that at once redirects back
with a one-time code for whoever ``sign_in_as`` named, ``/token`` returning an ID token signed with a fresh RSA
key, ``/jwks`` and ``/userinfo``. It checks what a real provider checks (client, redirect URI, code reuse, PKCE
verifier) so a console that skipped a step would fail here too. Test-only: never run it anywhere else.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "image-pipeline-console-test"
CLIENT_SECRET = "test-only-client-secret"  # a test provider's fixed credential, never a real one


@dataclass
class Grant:
    claims: dict[str, Any]
    nonce: str | None
    redirect_uri: str
    code_challenge: str | None
    issued: float = field(default_factory=time.monotonic)


class OidcProvider:
    """State shared by the handler threads: the signing key, the next identity, the codes in flight."""

    def __init__(self, redirect_uri_prefix: str = "http://127.0.0.1:") -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig", "alg": "RS256"})
        self.redirect_uri_prefix = redirect_uri_prefix
        self.issuer = ""  # set once the server has a port
        self._identity: dict[str, Any] = {}
        self._grants: dict[str, Grant] = {}
        self._access: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.token_requests = 0

    def sign_in_as(self, email: str | None, email_verified: bool | None = True, **claims: Any) -> None:
        """Who the next /authorize vouches for; ``None`` leaves a claim out of the ID token."""
        identity = {"sub": hashlib.sha256((email or "").encode()).hexdigest()[:16], "name": email, **claims}
        if email is not None:
            identity["email"] = email
        if email_verified is not None:
            identity["email_verified"] = email_verified
        with self._lock:
            self._identity = identity

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "email", "email_verified", "name"],
        }

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], dict[str, Any] | None]:
        """(status, headers, error body): a redirect back with a code, or a 400 for a bad request."""
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != CLIENT_ID or not redirect_uri.startswith(self.redirect_uri_prefix):
            return 400, {}, {"error": "invalid_request", "error_description": "unknown client or redirect_uri"}
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            return 400, {}, {"error": "invalid_request", "error_description": "code flow with scope openid only"}
        if query.get("code_challenge") and query.get("code_challenge_method") != "S256":
            return 400, {}, {"error": "invalid_request", "error_description": "PKCE S256 only"}
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[code] = Grant(
                dict(self._identity), query.get("nonce"), redirect_uri, query.get("code_challenge") or None
            )
        params = {"code": code, **({"state": query["state"]} if "state" in query else {})}
        return 302, {"Location": f"{redirect_uri}?{urlencode(params)}"}, None

    def token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, Any]]:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if (client_id, client_secret) != (CLIENT_ID, CLIENT_SECRET):
            return 401, {"error": "invalid_client"}
        with self._lock:
            self.token_requests += 1
            grant = self._grants.pop(form.get("code", ""), None)  # a code works once
        if form.get("grant_type") != "authorization_code" or grant is None:
            return 400, {"error": "invalid_grant"}
        if form.get("redirect_uri") != grant.redirect_uri or time.monotonic() - grant.issued > 60:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri mismatch or code expired"}
        if grant.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if digest != grant.code_challenge:
                return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        now = int(time.time())
        claims = {**grant.claims, "iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300}
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        access_token = secrets.token_urlsafe(24)
        with self._lock:
            self._access[access_token] = grant.claims
        id_token = jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)
        return 200, {"access_token": access_token, "token_type": "Bearer", "expires_in": 300, "id_token": id_token}

    def userinfo(self, authorization: str | None) -> tuple[int, dict[str, Any]]:
        token = (authorization or "").removeprefix("Bearer ")
        with self._lock:
            claims = self._access.get(token)
        return (200, claims) if claims is not None else (401, {"error": "invalid_token"})

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}


def _handler(provider: OidcProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet under pytest
            pass

        def _send(self, status: int, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/.well-known/openid-configuration":
                self._send(200, provider.discovery())
            elif parts.path == "/jwks":
                self._send(200, provider.jwks())
            elif parts.path == "/authorize":
                status, headers, body = provider.authorize(query)
                self._send(status, body, headers)
            elif parts.path == "/userinfo":
                self._send(*provider.userinfo(self.headers.get("Authorization")))
            else:
                self._send(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if urlsplit(self.path).path == "/token":
                self._send(*provider.token(form, self.headers.get("Authorization")))
            else:
                self._send(404, {"error": "not_found"})

    return Handler


@contextmanager
def running_provider() -> Iterator[OidcProvider]:
    """The provider on a free loopback port, served from a thread; its issuer is ``http://127.0.0.1:<port>``."""
    provider = OidcProvider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    server.daemon_threads = True
    provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="oidc-provider", daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
