"""The identity endpoint Azure Container Apps gives a container, for the tenant's managed
identities.

Container Apps (and App Service) set `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` in the container.
A token is `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=R&client_id=C` with the
header `X-IDENTITY-HEADER: {IDENTITY_HEADER}`; the answer is `{"access_token", "expires_on"
(Unix seconds, a string), "resource", "token_type", "client_id"}`. Without the right header the
endpoint refuses. Tokens are minted by the Entra twin, so Graph and the Bot Connector twin accept
them as they accept any app's.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from bot.sandbox.entra import EntraTwin

API_VERSION = "2019-08-01"
PATH = "/msi/token"
_KNOWN_RESOURCES = (
    "api://AzureADTokenExchange",
    "https://graph.microsoft.com",
    "https://api.botframework.com",
    "https://ossrdbms-aad.database.windows.net",  # Azure Database for PostgreSQL
)


class IdentityEndpointTwin:
    def __init__(self, entra: EntraTwin) -> None:
        self._entra = entra
        self.header = secrets.token_urlsafe(24)  # what Container Apps puts in IDENTITY_HEADER
        self.requests: list[tuple[str, str, int]] = []  # (client_id, resource, status)

    @property
    def url(self) -> str:
        """IDENTITY_ENDPOINT, once the Entra twin knows its own address."""
        return f"{self._entra.base_url}{PATH}"

    def install(self, app: web.Application) -> None:
        app.router.add_get(PATH, self._token)

    async def _token(self, request: web.Request) -> web.Response:
        client_id = request.query.get("client_id", "")
        resource = request.query.get("resource", "").rstrip("/")
        response = self._answer(request, client_id, resource)
        self.requests.append((client_id, resource, response.status))
        return response

    def _answer(self, request: web.Request, client_id: str, resource: str) -> web.Response:
        presented = request.headers.get("X-IDENTITY-HEADER", "")
        if not secrets.compare_digest(presented.encode(), self.header.encode()):
            return _error(401, "The X-IDENTITY-HEADER header is missing or wrong.")
        if request.query.get("api-version") != API_VERSION:
            return _error(400, f"api-version must be {API_VERSION}.")
        if not resource:
            return _error(400, "The resource parameter is required.")
        identities = list(getattr(self._entra.tenant, "managed_identities", ()))
        identity = next((i for i in identities if i.client_id == client_id), None)
        if identity is None:
            return _error(
                400, f"No user-assigned managed identity with client id '{client_id}' is assigned."
            )
        if resource not in _KNOWN_RESOURCES:
            return _error(
                400, f"AADSTS500011: The resource principal named {resource} was not found."
            )
        token = self._entra.managed_identity_token(identity, resource)
        expires_on = int(self._entra.now().timestamp()) + 3600 - 1
        body: dict[str, Any] = {
            "access_token": token,
            "expires_on": str(expires_on),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": client_id,
        }
        return web.json_response(body)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"statusCode": status, "message": message}, status=status)
