"""Verifying a platform's id_token: algorithm, signature, issuer, audience, authorized party and times.

Only RS256 is accepted, whatever the token's header says (so neither `none` nor an HS256 token "signed" with the
public key gets through), checked before any key is looked up.
"""

from __future__ import annotations

from typing import Any

import jwt

from examsync.domain.errors import LtiLaunchError
from examsync.lti.platform_keys import PlatformKeys

LEEWAY_SECONDS = 60


def verify_id_token(id_token: str, *, issuer: str, client_id: str, jwks_url: str, keys: PlatformKeys,
                    now_s: int) -> dict[str, Any]:
    """The token's claims, if the platform signed it for this tool and it is current; else LtiLaunchError."""
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError:
        raise LtiLaunchError("the id_token is not a JWT", reason="id_token") from None
    if header.get("alg") != "RS256":
        raise LtiLaunchError(f"the id_token is signed with {str(header.get('alg'))[:20]!r}; only RS256 is accepted",
                             reason="alg")
    key = keys.key_for(jwks_url, header.get("kid"))
    try:
        claims = _decode(id_token, key, issuer=issuer, client_id=client_id, now_s=now_s)
    except jwt.InvalidSignatureError:
        raise LtiLaunchError("the id_token's signature does not verify (tampered with, or not the platform's)",
                             reason="signature") from None
    except jwt.ExpiredSignatureError:
        raise LtiLaunchError("the id_token has expired", reason="exp") from None
    except jwt.ImmatureSignatureError:
        raise LtiLaunchError("the id_token is issued in the future", reason="iat") from None
    except jwt.InvalidIssuerError:
        raise LtiLaunchError("the id_token comes from another issuer than the platform the login started with",
                             reason="issuer") from None
    except jwt.InvalidAudienceError:
        raise LtiLaunchError("the id_token is not meant for this tool (aud)", reason="audience") from None
    except jwt.PyJWTError as error:
        raise LtiLaunchError(f"the id_token is not valid: {error}", reason="id_token") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    azp = claims.get("azp")
    if (len(audiences) > 1 and azp is None) or (azp is not None and azp != client_id):
        raise LtiLaunchError("the id_token's authorized party (azp) is not this tool", reason="audience")
    return claims


def _decode(id_token: str, key: Any, *, issuer: str, client_id: str, now_s: int) -> dict[str, Any]:
    claims = jwt.decode(id_token, key, algorithms=["RS256"], audience=client_id, issuer=issuer,
                        options={"require": ["exp", "iat", "iss", "aud", "sub", "nonce"], "verify_exp": False,
                                 "verify_iat": False, "verify_nbf": False})
    # Times against the server's clock (the one every other rule uses), with a small leeway for the platform's.
    if not isinstance(claims["exp"], (int, float)) or claims["exp"] < now_s - LEEWAY_SECONDS:
        raise jwt.ExpiredSignatureError()
    if not isinstance(claims["iat"], (int, float)) or claims["iat"] > now_s + LEEWAY_SECONDS:
        raise jwt.ImmatureSignatureError()
    return claims
