"""Point msal at any Entra login endpoint, including the sandbox's plain-http stand-in.

msal insists on an `https://` authority and, for hosts it does not know, asks
login.microsoftonline.com about the instance first. Production keeps msal's default path
(`https://login.microsoftonline.com/{tenant}`, instance discovery on). For another login URL
(the sandbox on `http://127.0.0.1:PORT`, or an https stand-in) msal gets the https form of the
same host as authority, instance discovery is turned off (`instance_discovery=False`, which also
skips the authority-alias lookup; `validate_authority=False` would change how the broker treats
the authority), and `LoginHttpClient` carries every `https://<host>` request to the real login
URL. A stand-in that advertises Entra's public host in its metadata (`https://login.microsoftonline.com/...`,
as Entra itself does) is reached the same way: for a login URL that is not one of Entra's own
hosts, that public host maps onto the login URL too.

One `LoginHttpClient` per process carries every call to the login host: msal's app tokens, the
on-behalf-of exchange, and the SSO signing keys (`bot.sso`), so they all follow one mapping. The
Bot Framework outbound credentials use the same class.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS

DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 15.0)  # (connect, read) seconds
ENTRA_PUBLIC_URL = "https://login.microsoftonline.com"  # what Entra's metadata names
_LOOPBACK_NAMES = frozenset({"localhost"})


def _split_login_url(login_url: str) -> tuple[str, str]:
    """(scheme, netloc) of a login URL; refuses paths, which msal would read as the tenant."""
    parts = urlsplit(login_url.rstrip("/"))
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"login URL must be http(s)://host[:port], got {login_url!r}")
    if parts.path or parts.query or parts.fragment:
        raise ValueError(f"login URL must not carry a path or query, got {login_url!r}")
    return parts.scheme, parts.netloc


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def authority_for(login_url: str, tenant: str) -> str:
    """The msal authority for a tenant: always https, same host (and port) as `login_url`."""
    if not tenant or "/" in tenant:
        raise ValueError(f"tenant must be a single path segment, got {tenant!r}")
    _, netloc = _split_login_url(login_url)
    return f"https://{netloc}/{tenant}"


def is_well_known_login_host(login_url: str) -> bool:
    """True for msal's own list of Entra hosts (public and national clouds)."""
    return (urlsplit(login_url).hostname or "").lower() in WELL_KNOWN_AUTHORITY_HOSTS


def instance_discovery_for(login_url: str) -> bool | None:
    """msal's `instance_discovery` argument: its default (None) for well-known Entra hosts, so
    production behaves exactly as msal intends; False for any other host, so that msal never asks
    login.microsoftonline.com about a host it cannot know."""
    return None if is_well_known_login_host(login_url) else False


class LoginResponse:
    """The response shape msal reads (`status_code`, `text`, `headers`, `raise_for_status`)."""

    def __init__(self, response: requests.Response, text: str) -> None:
        self.status_code = response.status_code
        self.text = text
        self.headers = response.headers
        self._response = response

    def raise_for_status(self) -> None:
        self._response.raise_for_status()


class LoginHttpClient:
    """A `requests.Session`-like http_client for msal that maps `https://<host of login_url>`
    (and, for a login URL that is not one of Entra's own hosts, `https://login.microsoftonline.com`)
    onto `login_url`, with timeouts on every request.

    For Entra's own hosts the mapping is the identity. For a plain-http login URL (allowed only
    on loopback unless `allow_insecure_http`), requests go to http, and discovery documents that
    name the http base are rewritten to the https form msal requires of every endpoint. Token
    responses are never rewritten.
    """

    def __init__(
        self,
        login_url: str,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        scheme, netloc = _split_login_url(login_url)
        host = urlsplit(login_url).hostname or ""
        if scheme == "http" and not (allow_insecure_http or _is_loopback(host)):
            raise ValueError(
                "refusing to send client secrets over plain http to a non-loopback host: "
                f"{login_url!r}"
            )
        self._target_base = f"{scheme}://{netloc}"
        self._msal_base = f"https://{netloc}"
        public = [self._msal_base]
        if not is_well_known_login_host(login_url):
            public.append(ENTRA_PUBLIC_URL)
        self._mapped_bases = tuple(b for b in public if b.lower() != self._target_base.lower())
        self._timeout = timeout
        self._session = session or requests.Session()

    @property
    def maps_urls(self) -> bool:
        return bool(self._mapped_bases)

    @property
    def login_url(self) -> str:
        """Where requests really go (scheme, host and port of `login_url`)."""
        return self._target_base

    def _to_target(self, url: str) -> str:
        for base in self._mapped_bases:
            if _has_base(url, base):
                return self._target_base + url[len(base) :]
        return url

    def _to_msal(self, text: str) -> str:
        if self._target_base == self._msal_base:
            return text
        return text.replace(self._target_base, self._msal_base)

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> LoginResponse:
        kwargs.setdefault("timeout", self._timeout)
        response = self._session.get(self._to_target(url), params=params, headers=headers, **kwargs)
        return LoginResponse(response, self._to_msal(response.text))

    def post(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> LoginResponse:
        kwargs.setdefault("timeout", self._timeout)
        response = self._session.post(
            self._to_target(url), params=params, data=data, headers=headers, **kwargs
        )
        return LoginResponse(response, response.text)

    async def get_json(self, url: str) -> Any:
        """GET a JSON document (metadata, signing keys) in a worker thread, off the event loop;
        raises `requests.RequestException` or `ValueError` when there is none."""

        def fetch() -> Any:
            response = self.get(url)
            response.raise_for_status()
            return json.loads(response.text)

        return await asyncio.to_thread(fetch)

    def close(self) -> None:
        self._session.close()


def _has_base(url: str, base: str) -> bool:
    if not url.lower().startswith(base.lower()):
        return False
    rest = url[len(base) :]
    return rest == "" or rest[0] in "/?#"
