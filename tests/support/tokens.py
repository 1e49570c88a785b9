"""Bearer JWTs for the authentication tests, minted with PyJWT."""

from __future__ import annotations

import time
from typing import Any

import jwt

#: The HS256 secret, issuer and audience of the test worker with authentication on.
SECRET = "test-secret-that-is-long-enough-for-hs256!"
ISSUER = "https://issuer.test"
AUDIENCE = "faust-a2a-test"
#: The worker environment that turns authentication on with these.
AUTH_ENV = {
    "FAUST_A2A_JWT_SECRET": SECRET,
    "FAUST_A2A_JWT_ISSUER": ISSUER,
    "FAUST_A2A_JWT_AUDIENCE": AUDIENCE,
}


def mint(
    subject: str,
    *,
    key: Any = SECRET,
    algorithm: str = "HS256",
    expires_in: float = 600.0,
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A JWT for ``subject`` (claims ``iss``, ``aud``, ``exp`` from the constants unless
    given in ``claims``; ``expires_in`` < 0 gives an expired token)."""
    payload = {
        "sub": subject,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(time.time()),
        "exp": int(time.time() + expires_in),
        **claims,
    }
    return jwt.encode(payload, key, algorithm=algorithm, headers=headers)


def unsigned(subject: str) -> str:
    """A token with ``alg: none`` (no signature) for ``subject``."""
    return jwt.encode(
        {"sub": subject, "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time() + 600)},
        None,
        algorithm="none",
    )
