"""Caller authentication: the ``authorization`` service parameter, a bearer JWT
verified with PyJWT, becomes the call's ``ServerCallContext.user``.

A2A 1.0 §7 leaves authentication to the transport's standard mechanisms and §12.6
asks a custom binding to say how credentials travel and how a failure is reported.
In the Kafka binding (``docs/kafka-binding.md`` §10) credentials travel as the
``authorization`` record header (``Bearer <JWT>``, RFC 6750) and a failure is the
JSON-RPC error :data:`AUTHENTICATION_ERROR_CODE` whose details carry a
``WWW-Authenticate``-style challenge (:class:`AuthenticationError`).

Keys: an HS256 secret (``FAUST_A2A_JWT_SECRET``, development) and/or RS256/ES256 public
keys from a JWKS file or URL (``FAUST_A2A_JWT_JWKS``, production; a URL is fetched
with PyJWT's ``PyJWKClient`` and cached). Checked: signature, an accepted algorithm
(never ``none``), ``exp`` (required), ``sub`` (required: it is the owner of the
caller's tasks), ``iss`` and ``aud`` when configured. With neither secret nor JWKS,
authentication is off and every caller is a2a-sdk's ``UnauthenticatedUser``.

The verified credential is also kept for the rest of the call (a context variable,
copied into the asyncio tasks the call starts) so that peer calls made on the
caller's behalf forward it (:func:`forwarded_authorization`, ``app.peers``).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jwt
from a2a.auth.user import UnauthenticatedUser, User
from a2a.server.context import ServerCallContext
from a2a.server.jsonrpc_models import JSONRPCError
from a2a.utils.errors import A2AError

from app import binding
from app.settings import Settings

logger = logging.getLogger(__name__)

#: The service parameter (record header) carrying credentials (A2A 1.0 §3.2.6).
AUTHORIZATION = "authorization"
#: JSON-RPC code of an authentication failure: in the implementation-defined server
#: error range of JSON-RPC 2.0 §5.1, outside A2A's -32001…-32009 (docs/kafka-binding.md §8).
AUTHENTICATION_ERROR_CODE = -32030
#: ``google.rpc.ErrorInfo.reason`` of an authentication failure.
AUTHENTICATION_REASON = "UNAUTHENTICATED"
#: ``google.rpc.ErrorInfo.domain`` of the errors this binding defines.
ERROR_DOMAIN = "faust-a2a"
#: ``realm`` of the challenge (RFC 6750 §3).
REALM = "faust-a2a"
#: Longer ``authorization`` values are refused before any parsing, characters.
MAX_AUTHORIZATION_CHARS = 8192
#: Shortest HS256 secret accepted, bytes (RFC 7518 §3.2: at least the hash size).
MIN_SECRET_BYTES = 32

_ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"
_caller_authorization: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "faust_a2a_caller_authorization", default=None
)


class AuthenticatedUser(User):
    """A caller whose bearer JWT was verified.

    Args:
        subject: The token's ``sub`` claim; it is the ``user_name`` and so the owner
            scope of a2a-sdk's ``resolve_user_scope``.
        claims: Every verified claim of the token.
    """

    def __init__(self, subject: str, claims: Mapping[str, Any] | None = None) -> None:
        self._subject = subject
        self.claims: Mapping[str, Any] = dict(claims or {})

    @property
    def is_authenticated(self) -> bool:
        """Always ``True``."""
        return True

    @property
    def user_name(self) -> str:
        """The token's subject."""
        return self._subject


class AuthenticationError(A2AError):
    """A missing, expired or invalid credential (docs/kafka-binding.md §8, §10).

    Answered with JSON-RPC code :data:`AUTHENTICATION_ERROR_CODE`; the record is not
    dead-lettered (it is not a bad record, and a DLQ must not keep credentials).

    Args:
        message: What is wrong, for the caller; never contains the credential.
        error: RFC 6750 §3.1 error code for the challenge, ``None`` when no
            credential was presented at all (the challenge then names only the realm).

    Attributes:
        challenge: The ``WWW-Authenticate`` value (RFC 6750 §3), e.g.
            ``Bearer realm="faust-a2a", error="invalid_token", error_description="token expired"``.
    """

    message = "Authentication required"

    def __init__(self, message: str, *, error: str | None = "invalid_token") -> None:
        challenge = f'Bearer realm="{REALM}"'
        if error is not None:
            description = message.replace('"', "'")
            challenge += f', error="{error}", error_description="{description}"'
        self.challenge = challenge
        super().__init__(message, data={"www-authenticate": challenge})

    @classmethod
    def from_error_object(cls, error: Mapping[str, Any]) -> AuthenticationError:
        """The exception a client raises for a JSON-RPC error object with code
        :data:`AUTHENTICATION_ERROR_CODE`, carrying the server's message and challenge."""
        exc = cls(str(error.get("message") or cls.message))
        details = error.get("data")
        for detail in details if isinstance(details, list) else []:
            metadata = detail.get("metadata") if isinstance(detail, dict) else None
            challenge = metadata.get("www-authenticate") if isinstance(metadata, dict) else None
            if isinstance(challenge, str):
                exc.challenge = challenge
                exc.data = {"www-authenticate": challenge}
        return exc

    def to_jsonrpc_error(self) -> JSONRPCError:
        """The JSON-RPC error object: code, message and a ``google.rpc.ErrorInfo``
        (reason :data:`AUTHENTICATION_REASON`, metadata ``{"www-authenticate": …}``)."""
        detail = {
            "@type": _ERROR_INFO_TYPE,
            "reason": AUTHENTICATION_REASON,
            "domain": ERROR_DOMAIN,
            "metadata": {"www-authenticate": self.challenge},
        }
        return JSONRPCError(code=AUTHENTICATION_ERROR_CODE, message=self.message, data=[detail])


class Authenticator:
    """Verifies the ``authorization`` credential of each call (bearer JWT, RFC 6750).

    Args:
        secret: HS256 secret; empty for none.
        jwks: JWKS file path or ``http(s)://`` URL of RS256/ES256 public keys; empty
            for none. Neither secret nor JWKS: authentication is off.
        issuer: Required ``iss``; empty: not checked.
        audience: Required ``aud``; empty: a token carrying ``aud`` is refused.
        algorithms: Accepted JWS algorithms; default ``HS256`` with a secret plus
            ``RS256``/``ES256`` with a JWKS.
        leeway: Allowed clock skew on time claims, seconds.

    Raises:
        ValueError: a secret under :data:`MIN_SECRET_BYTES`, ``none`` among the
            algorithms, an unknown algorithm, or a JWKS file that cannot be read as a
            JWK Set.
    """

    def __init__(
        self,
        *,
        secret: str = "",
        jwks: str = "",
        issuer: str = "",
        audience: str = "",
        algorithms: Iterable[str] = (),
        leeway: float = 30.0,
    ) -> None:
        if secret and len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"FAUST_A2A_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes (RFC 7518 §3.2)"
            )
        self._secret = secret
        self._issuer = issuer or None
        self._audience = audience or None
        self._leeway = leeway
        chosen = [a.strip() for a in algorithms if a.strip()]
        if not chosen:
            chosen = (["HS256"] if secret else []) + (["RS256", "ES256"] if jwks else [])
        supported = jwt.algorithms.get_default_algorithms()
        for name in chosen:
            if name.lower() == "none" or name not in supported:
                raise ValueError(f"JWT algorithm {name!r} is not accepted")
        self.algorithms: tuple[str, ...] = tuple(chosen)
        self._jwk_client: jwt.PyJWKClient | None = None
        self._jwk_set: jwt.PyJWKSet | None = None
        if jwks.startswith(("http://", "https://")):
            self._jwk_client = jwt.PyJWKClient(jwks, cache_keys=True, lifespan=300)
        elif jwks:
            try:
                self._jwk_set = jwt.PyJWKSet.from_json(Path(jwks).read_text())
            except (OSError, jwt.PyJWKSetError, ValueError) as exc:
                raise ValueError(f"FAUST_A2A_JWT_JWKS: cannot read JWKS {jwks!r}: {exc}") from exc
        self.enabled = bool(secret or jwks)

    @classmethod
    def from_settings(cls, settings: Settings) -> Authenticator:
        """The authenticator the ``FAUST_A2A_JWT_*`` settings describe (off when neither
        ``jwt_secret`` nor ``jwt_jwks`` is set)."""
        return cls(
            secret=settings.jwt_secret,
            jwks=settings.jwt_jwks,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            algorithms=settings.jwt_algorithms.split(","),
            leeway=settings.jwt_leeway,
        )

    def describe(self) -> str:
        """One log line saying whether and how callers are authenticated."""
        if not self.enabled:
            return (
                "caller authentication is OFF: every caller is served and sees every task "
                "(set FAUST_A2A_JWT_SECRET or FAUST_A2A_JWT_JWKS to turn it on)"
            )
        return (
            f"caller authentication is on: bearer JWT, algorithms {', '.join(self.algorithms)}, "
            f"issuer {self._issuer or '(any)'}, audience {self._audience or '(none)'}"
        )

    async def authenticate(self, authorization: str | None) -> User:
        """The caller that ``authorization`` (``Bearer <JWT>``) proves.

        Returns ``UnauthenticatedUser`` when authentication is off.

        Raises:
            AuthenticationError: no credential, a value over
                :data:`MAX_AUTHORIZATION_CHARS` or not ASCII, not a bearer JWT, a bad
                signature or algorithm, an expired token, wrong issuer or audience, or
                no subject.
        """
        if not self.enabled:
            return UnauthenticatedUser()
        if authorization is None or not authorization.strip():
            raise AuthenticationError("Authentication required: no bearer token", error=None)
        if len(authorization) > MAX_AUTHORIZATION_CHARS:
            raise AuthenticationError(
                f"authorization is longer than {MAX_AUTHORIZATION_CHARS} characters",
                error="invalid_request",
            )
        if not authorization.isascii():
            raise AuthenticationError("authorization is not ASCII", error="invalid_request")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationError(
                "authorization must be 'Bearer <token>'", error="invalid_request"
            )
        try:
            claims = await self._verify(token)
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("token expired") from None
        except jwt.InvalidAudienceError:
            raise AuthenticationError("token audience not accepted") from None
        except jwt.InvalidIssuerError:
            raise AuthenticationError("token issuer not accepted") from None
        except jwt.InvalidSignatureError:
            raise AuthenticationError("token signature invalid") from None
        except jwt.InvalidAlgorithmError:
            raise AuthenticationError("token algorithm not accepted") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthenticationError(f"token lacks the {exc.claim!r} claim") from None
        except jwt.PyJWKClientError:
            raise AuthenticationError("no key verifies the token") from None
        except jwt.DecodeError:
            raise AuthenticationError("token is not a valid JWT") from None
        except jwt.InvalidTokenError as exc:
            raise AuthenticationError(f"token invalid: {type(exc).__name__}") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise AuthenticationError("token has no subject")
        return AuthenticatedUser(subject, claims)

    async def authenticate_headers(self, headers: Iterable[tuple[str, bytes]] | None) -> User:
        """Authenticates a request record's ``authorization`` header (the last one).

        When the caller is authenticated, the credential is also kept for the rest of
        the current asyncio context, so peer calls made for this call forward it
        (:func:`forwarded_authorization`).

        Raises:
            AuthenticationError: as :meth:`authenticate`.
        """
        authorization = binding.header(headers, AUTHORIZATION)
        user = await self.authenticate(authorization)
        if user.is_authenticated:
            _caller_authorization.set(authorization)
        return user

    async def _verify(self, token: str) -> dict[str, Any]:
        algorithm = jwt.get_unverified_header(token).get("alg")
        if algorithm not in self.algorithms:
            raise jwt.InvalidAlgorithmError(f"algorithm {algorithm!r} not accepted")
        key: Any
        if str(algorithm).startswith("HS"):
            if not self._secret:
                raise jwt.InvalidAlgorithmError("no secret for HMAC tokens")
            key = self._secret
        elif self._jwk_client is not None:
            client = self._jwk_client
            key = (await asyncio.to_thread(client.get_signing_key_from_jwt, token)).key
        elif self._jwk_set is not None:
            key = self._jwk_key(token, self._jwk_set)
        else:
            raise jwt.InvalidAlgorithmError("no public keys configured")
        options: Any = {"require": ["exp", "sub"]}
        decoded: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=self._audience,
            issuer=self._issuer,
            leeway=self._leeway,
            options=options,
        )
        return decoded

    @staticmethod
    def _jwk_key(token: str, jwk_set: jwt.PyJWKSet) -> Any:
        kid = jwt.get_unverified_header(token).get("kid")
        if kid is None and len(jwk_set.keys) == 1:
            return jwk_set.keys[0].key
        try:
            return jwk_set[str(kid)].key
        except KeyError:
            raise jwt.PyJWKClientError(f"no key with kid {kid!r}") from None


def forwarded_authorization() -> str | None:
    """The verified credential of the call being handled, to forward on peer calls;
    ``None`` when authentication is off or outside a call."""
    return _caller_authorization.get()


def owner_context(owner: str) -> ServerCallContext:
    """A ``ServerCallContext`` whose owner scope is ``owner`` (``""``: unauthenticated),
    for work done on an owner's behalf outside a call (retention, web views)."""
    if not owner:
        return ServerCallContext()
    return ServerCallContext(user=AuthenticatedUser(owner))
