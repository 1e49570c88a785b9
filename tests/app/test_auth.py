"""The caller verifier: HS256, RS256/ES256 from a JWKS file or URL, and every bad token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from a2a.server.context import ServerCallContext
from a2a.server.owner_resolver import resolve_user_scope
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from support.tokens import AUDIENCE, ISSUER, SECRET, mint, unsigned

from app.auth import (
    AUTHENTICATION_ERROR_CODE,
    MAX_AUTHORIZATION_CHARS,
    AuthenticationError,
    Authenticator,
    forwarded_authorization,
    owner_context,
)
from app.binding import redact_headers
from app.settings import Settings
from tables.keys import scoped, split

HS256 = Authenticator(secret=SECRET, issuer=ISSUER, audience=AUDIENCE)


def _jwk(public_key: Any, kid: str, algorithm: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.get_default_algorithms()[algorithm].to_jwk(public_key))
    return {**jwk, "kid": kid, "alg": algorithm, "use": "sig"}


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    """An RSA and an EC P-256 private key, and a second RSA key nobody trusts."""
    return {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec": ec.generate_private_key(ec.SECP256R1()),
        "stranger": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }


@pytest.fixture(scope="module")
def jwks_file(keys: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JWKS file with the RSA (kid ``rsa-1``) and EC (kid ``ec-1``) public keys."""
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    jwks = {
        "keys": [
            _jwk(keys["rsa"].public_key(), "rsa-1", "RS256"),
            _jwk(keys["ec"].public_key(), "ec-1", "ES256"),
        ]
    }
    path.write_text(json.dumps(jwks))
    return path


@pytest.fixture
def jwks_url(jwks_file: Path) -> Iterator[str]:
    """The JWKS file served by a real HTTP server on 127.0.0.1."""
    body = jwks_file.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()
    server.server_close()
    thread.join(10)


def _hs256_by_hand(payload: dict[str, Any], key: bytes) -> str:
    """An HS256 JWT signed with any bytes (PyJWT refuses PEM keys as HMAC secrets)."""

    def part(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = part(b'{"alg":"HS256","typ":"JWT"}') + "." + part(json.dumps(payload).encode())
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{part(signature)}"


async def _refused(authenticator: Authenticator, authorization: str | None) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as caught:
        await authenticator.authenticate(authorization)
    return caught.value


async def test_hs256_token_gives_its_subject_as_the_owner() -> None:
    user = await HS256.authenticate(f"Bearer {mint('alice', tier='gold')}")
    assert user.is_authenticated
    assert user.user_name == "alice"
    assert resolve_user_scope(ServerCallContext(user=user)) == "alice"
    assert user.claims["tier"] == "gold"  # type: ignore[attr-defined]


async def test_scheme_is_case_insensitive() -> None:
    user = await HS256.authenticate(f"bearer {mint('alice')}")
    assert user.user_name == "alice"


async def test_off_by_default_everyone_is_unauthenticated() -> None:
    authenticator = Authenticator.from_settings(Settings())
    assert not authenticator.enabled
    assert "OFF" in authenticator.describe()
    user = await authenticator.authenticate("Bearer whatever")
    assert not user.is_authenticated
    assert user.user_name == ""


def test_settings_turn_it_on() -> None:
    settings = Settings.from_env(
        {
            "FAUST_A2A_JWT_SECRET": SECRET,
            "FAUST_A2A_JWT_ISSUER": ISSUER,
            "FAUST_A2A_JWT_AUDIENCE": AUDIENCE,
        }
    )
    authenticator = Authenticator.from_settings(settings)
    assert authenticator.enabled
    assert authenticator.algorithms == ("HS256",)
    assert "is on" in authenticator.describe()


def test_alg_none_cannot_be_configured() -> None:
    with pytest.raises(ValueError, match="none"):
        Authenticator(secret=SECRET, algorithms=["HS256", "none"])


def test_short_secret_fails_at_start() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        Authenticator(secret="too-short")


BAD = {
    "missing": (None, "no bearer token"),
    "empty": ("", "no bearer token"),
    "not a JWT": ("Bearer this-is-not-a-jwt", "not a valid JWT"),
    "not bearer": (f"Basic {mint('alice')}", "Bearer"),
    "wrong key": (
        f"Bearer {mint('alice', key='another-secret-of-sufficient-length!!')}",
        "signature",
    ),
    "alg none": (f"Bearer {unsigned('alice')}", "algorithm"),
    "other audience": (f"Bearer {mint('alice', aud='someone-else')}", "audience"),
    "other issuer": (f"Bearer {mint('alice', iss='https://evil.test')}", "issuer"),
    "expired": (f"Bearer {mint('alice', expires_in=-3600)}", "expired"),
    "no subject": (f"Bearer {mint('')}", "subject"),
    "10,000 characters": ("Bearer " + "a" * 10_000, f"longer than {MAX_AUTHORIZATION_CHARS}"),
    "non-ASCII": (f"Bearer {mint('alice')}é", "not ASCII"),
}


@pytest.mark.parametrize("case", sorted(BAD))
async def test_bad_credentials_are_refused_with_a_challenge(case: str) -> None:
    authorization, expected = BAD[case]
    error = await _refused(HS256, authorization)
    assert expected in error.message
    assert error.challenge.startswith('Bearer realm="faust-a2a"')
    if authorization:
        assert 'error="' in error.challenge
        assert authorization.split(" ", 1)[-1][:40] not in error.message, "no token echoed"
    jsonrpc = error.to_jsonrpc_error()
    assert jsonrpc.code == AUTHENTICATION_ERROR_CODE
    assert jsonrpc.data[0]["reason"] == "UNAUTHENTICATED"
    assert jsonrpc.data[0]["metadata"]["www-authenticate"] == error.challenge


async def test_token_without_exp_is_refused() -> None:
    token = jwt.encode({"sub": "alice", "iss": ISSUER, "aud": AUDIENCE}, SECRET, algorithm="HS256")
    error = await _refused(HS256, f"Bearer {token}")
    assert "'exp'" in error.message


async def test_rs256_and_es256_from_a_jwks_file(keys: dict[str, Any], jwks_file: Path) -> None:
    authenticator = Authenticator(jwks=str(jwks_file), issuer=ISSUER, audience=AUDIENCE)
    assert authenticator.algorithms == ("RS256", "ES256")
    rs = mint("rita", key=keys["rsa"], algorithm="RS256", headers={"kid": "rsa-1"})
    es = mint("eve", key=keys["ec"], algorithm="ES256", headers={"kid": "ec-1"})
    assert (await authenticator.authenticate(f"Bearer {rs}")).user_name == "rita"
    assert (await authenticator.authenticate(f"Bearer {es}")).user_name == "eve"


async def test_jwks_refuses_unknown_keys_and_hmac(keys: dict[str, Any], jwks_file: Path) -> None:
    authenticator = Authenticator(jwks=str(jwks_file), issuer=ISSUER, audience=AUDIENCE)
    stranger = mint("mallory", key=keys["stranger"], algorithm="RS256", headers={"kid": "rsa-1"})
    assert "signature" in (await _refused(authenticator, f"Bearer {stranger}")).message
    unknown_kid = mint("mallory", key=keys["stranger"], algorithm="RS256", headers={"kid": "x"})
    assert "no key" in (await _refused(authenticator, f"Bearer {unknown_kid}")).message
    # Algorithm confusion: an HS256 token "signed" with the public key is refused.
    public_pem = (
        keys["rsa"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    confused = _hs256_by_hand(
        {"sub": "mallory", "iss": ISSUER, "aud": AUDIENCE, "exp": 2**33}, public_pem
    )
    assert "algorithm" in (await _refused(authenticator, f"Bearer {confused}")).message


async def test_rs256_from_a_jwks_url(keys: dict[str, Any], jwks_url: str) -> None:
    authenticator = Authenticator(jwks=jwks_url, issuer=ISSUER, audience=AUDIENCE)
    token = mint("rita", key=keys["rsa"], algorithm="RS256", headers={"kid": "rsa-1"})
    assert (await authenticator.authenticate(f"Bearer {token}")).user_name == "rita"
    stranger = mint("mallory", key=keys["stranger"], algorithm="RS256", headers={"kid": "nope"})
    assert "no key" in (await _refused(authenticator, f"Bearer {stranger}")).message


def test_unreadable_jwks_file_fails_at_start(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text("not json")
    with pytest.raises(ValueError, match="FAUST_A2A_JWT_JWKS"):
        Authenticator(jwks=str(path))


async def test_verified_credential_is_forwarded_only_in_its_context() -> None:
    authorization = f"Bearer {mint('alice')}"
    assert forwarded_authorization() is None
    user = await HS256.authenticate_headers([("authorization", authorization.encode())])
    assert user.user_name == "alice"
    assert forwarded_authorization() == authorization


def test_error_object_round_trip_keeps_the_challenge() -> None:
    error = AuthenticationError("token expired")
    wire = error.to_jsonrpc_error().model_dump(exclude_none=True)
    again = AuthenticationError.from_error_object(wire)
    assert again.message == "token expired"
    assert again.challenge == error.challenge


def test_redact_headers_drops_credentials_only() -> None:
    headers = [
        ("Authorization", b"Bearer secret"),
        ("authorization", b"Bearer secret"),
        ("cookie", b"session=1"),
        ("correlation-id", b"abc"),
        ("a2a-version", b"1.0"),
    ]
    assert redact_headers(headers) == [("correlation-id", b"abc"), ("a2a-version", b"1.0")]


def test_owner_scoped_keys_keep_the_anonymous_layout() -> None:
    assert scoped("data", "t1") == "data/t1"
    assert scoped("data", "t1", "alice") == "data@alice/t1"
    assert scoped("data", "t1", "a/b@c") == "data@a%2Fb%40c/t1"
    assert split(scoped("data", "ctx/with/slashes", "a/b@c")) == (
        "data",
        "a/b@c",
        "ctx/with/slashes",
    )
    assert split(b"data/t1") == ("data", "", "t1")
    assert resolve_user_scope(owner_context("alice")) == "alice"
    assert resolve_user_scope(owner_context("")) == ""
