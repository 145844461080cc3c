"""Hospital single sign-on through Streamlit's built-in OIDC support (issue #5 item 1).

Offered only when `.streamlit/secrets.toml` has an `[auth]` section with Streamlit's keys
(`redirect_uri`, `cookie_secret`, `client_id`, `client_secret`, `server_metadata_url`); local
accounts stay the default and need no secrets. `st.login()` runs the OIDC round trip; on return
`st.user` holds the provider's verified claims, which `assistant.service.sign_in.sign_in_verified`
maps to a GuideCite account (Casbin still decides the roles). An optional
`[guidecite_sso] account_claim = "preferred_username"` names the claim to match; by default the
local part of `email` is the account name.
"""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

logger = logging.getLogger(__name__)

AUTH_SECTION = "auth"
GUIDECITE_SECTION = "guidecite_sso"


def _secrets_section(name: str) -> Any:
    try:
        if not st.secrets.load_if_toml_exists():
            return None
        return st.secrets.get(name)
    except Exception as exc:  # an unreadable secrets file means: no SSO, local accounts only
        logger.warning("secrets not readable (%s); hospital SSO is off", type(exc).__name__)
        return None


def sso_configured() -> bool:
    """Whether the secrets carry an `[auth]` section (the SSO button is offered)."""
    section = _secrets_section(AUTH_SECTION)
    return bool(section)


def account_claim() -> str | None:
    """The claim that names the GuideCite account (`[guidecite_sso] account_claim`), if set."""
    section = _secrets_section(GUIDECITE_SECTION)
    if not section:
        return None
    value = section.get("account_claim")
    return str(value) if value else None


def identity_claims() -> dict[str, Any] | None:
    """The provider's verified claims after `st.login()`, or None when nobody is signed in."""
    try:
        claims = st.user.to_dict()
    except Exception:  # no script run context (bare runs)
        return None
    return claims if claims.get("is_logged_in") is True else None


def start_sso() -> None:
    """Send the browser to the hospital's identity provider."""
    st.login()


def end_sso() -> None:
    """Forget the provider's identity cookie (and sign out there where it supports it)."""
    st.logout()
