"""An msal `http_client` mapping https hosts onto loopback twins, as pimbot does."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests


class HostMappingClient:
    """Sends `https://<host>/...` to `<mapping[host]>/...` over plain http. With `forward_host`
    it tells the twin the public host it stands in for (`X-Forwarded-Host/Proto`), as a TLS proxy
    would."""

    def __init__(self, mapping: dict[str, str], *, forward_host: bool = False) -> None:
        self._mapping = mapping
        self._forward_host = forward_host
        self._session = requests.Session()
        self.urls: list[str] = []

    def _map(self, url: str, headers: dict[str, str] | None) -> tuple[str, dict[str, str]]:
        parts = urlsplit(url)
        target = self._mapping.get(parts.netloc)
        if parts.scheme != "https" or target is None:
            raise AssertionError(f"unexpected outbound URL {url}")
        mapped = target.rstrip("/") + url[len(f"https://{parts.netloc}") :]
        self.urls.append(mapped)
        extra = dict(headers or {})
        if self._forward_host:
            extra |= {"X-Forwarded-Host": parts.netloc, "X-Forwarded-Proto": "https"}
        return mapped, extra

    def get(self, url: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        mapped, extra = self._map(url, headers)
        return self._session.get(mapped, headers=extra, timeout=10, **kwargs)

    def post(self, url: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        mapped, extra = self._map(url, headers)
        return self._session.post(mapped, headers=extra, timeout=10, **kwargs)

    def close(self) -> None:
        self._session.close()
