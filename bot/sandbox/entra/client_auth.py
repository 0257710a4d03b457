"""How the token endpoint knows which app is calling: a client secret (in the form or HTTP
Basic) or a client assertion (a certificate's JWT or a federated credential; see
`bot/sandbox/client_assertions.py`), for an app registered in the tenant."""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from urllib.parse import unquote

from bot.sandbox.client_assertions import (
    JWT_BEARER_ASSERTION,
    AssertingApp,
    AssertionRefused,
    assertion_subject,
    verify_client_assertion,
)
from bot.sandbox.entra.oauth_errors import OAuthError, missing_parameter
from bot.sandbox.entra.tenant_view import AppRegistrationView, TenantView
from bot.sandbox.entra.tokens import TokenIssuer


class ClientAuthenticator:
    def __init__(
        self, tenant: TenantView, issuer: TokenIssuer, now: Callable[[], datetime]
    ) -> None:
        self.tenant = tenant
        self.issuer = issuer
        self._now = now

    def authenticate(
        self, form: Mapping[str, str], authorization: str, *, token_endpoint: str
    ) -> AppRegistrationView:
        """The calling app, or the `OAuthError` Entra answers with."""
        if form.get("client_assertion_type") or form.get("client_assertion"):
            return self._by_assertion(form, token_endpoint)
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if authorization.startswith("Basic "):
            try:
                decoded = base64.b64decode(authorization[6:]).decode()
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise OAuthError(401, "invalid_client", 7000215, "Invalid client secret.") from exc
            basic_id, _, basic_secret = decoded.partition(":")
            client_id, secret = client_id or unquote(basic_id), unquote(basic_secret)
        app = self._registered_app(client_id)
        if not secret:
            raise OAuthError(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or "
                "'client_secret'.",
            )
        if not app.client_secret or not secrets.compare_digest(
            secret.encode(), app.client_secret.encode()
        ):
            raise OAuthError(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                "the client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.",
            )
        return app

    def _registered_app(self, client_id: str) -> AppRegistrationView:
        if not client_id:
            raise missing_parameter("client_id")
        registered: list[AppRegistrationView] = list(
            getattr(self.tenant, "apps", None) or [self.tenant.pimbot_app]
        )
        app = next((a for a in registered if a.client_id == client_id), None)
        if app is None:
            raise OAuthError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self.tenant.tenant_id}'. This can happen if the application has not been "
                "installed by the administrator of the tenant or consented to by any user in the "
                "tenant.",
            )
        return app

    def _by_assertion(self, form: Mapping[str, str], token_endpoint: str) -> AppRegistrationView:
        if form.get("client_assertion_type") != JWT_BEARER_ASSERTION:
            raise OAuthError(
                400,
                "invalid_request",
                50027 if form.get("client_assertion_type") else 900144,
                f"client_assertion_type must be '{JWT_BEARER_ASSERTION}' with a client_assertion.",
            )
        assertion = form.get("client_assertion", "")
        if not assertion:
            raise missing_parameter("client_assertion")
        client_id = form.get("client_id") or assertion_subject(assertion)
        app = self._registered_app(client_id)
        try:
            verify_client_assertion(
                assertion,
                AssertingApp(
                    client_id=app.client_id,
                    certificates=list(getattr(app, "certificates", ())),
                    federated_credentials=list(getattr(app, "federated_credentials", ())),
                ),
                token_endpoint=token_endpoint,
                now=self._now().timestamp(),
                verify_entra_token=self.issuer.verify,
                entra_issuer=self.issuer.issuer_v2,
            )
        except AssertionRefused as exc:
            raise OAuthError(401, exc.error, exc.code, exc.message) from None
        return app
