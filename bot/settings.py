"""Settings from the environment and `.env`.

The Bot Framework names (`MicrosoftAppId`, ...) are kept as Azure Bot Service and the Teams
toolkit write them; everything else is `PIMBOT_*`. Every outside endpoint is a setting, so the
same code runs against Azure, a national cloud, or the sandbox on loopback.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.timefmt import parse_iso_duration


class AppType(StrEnum):
    MULTI_TENANT = "MultiTenant"
    SINGLE_TENANT = "SingleTenant"
    USER_ASSIGNED_MSI = "UserAssignedMSI"


class CredentialKind(StrEnum):
    """How pimbot proves itself to Entra (`PIMBOT_APP_CREDENTIAL`, `PIMBOT_GRAPH_CREDENTIAL`)."""

    AUTO = "auto"
    SECRET = "secret"
    CERTIFICATE = "certificate"
    FEDERATED_IDENTITY = "federated_identity"  # the managed identity's token as client assertion
    MANAGED_IDENTITY = "managed_identity"  # the managed identity itself holds the permissions


class DatabaseAuth(StrEnum):
    PASSWORD = "password"  # whatever the URL carries (or trust, locally)
    MANAGED_IDENTITY = "managed_identity"  # a Microsoft Entra token of the managed identity


class EngineName(StrEnum):
    BOT = "bot"
    PIM = "pim"


class InboundMode(StrEnum):
    AUTHENTICATED = "authenticated"
    ANONYMOUS = "anonymous"


# Microsoft Graph in the public and national clouds: never run anonymously in front of these.
MICROSOFT_GRAPH_HOSTS = frozenset(
    {
        "graph.microsoft.com",
        "canary.graph.microsoft.com",
        "graph.microsoft.us",
        "dod-graph.microsoft.us",
        "graph.microsoft.de",
        "microsoftgraph.chinacloudapi.cn",
    }
)


class AnonymousNotAllowed(ValueError):
    """Inbound authentication would be off where it must not be; the message says what to set."""


def default_database_url() -> str:
    """`var/pimbot.db` under the working directory: the database when none is configured."""
    return f"sqlite:///{(Path.cwd() / 'var' / 'pimbot.db').resolve()}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    # Bot Framework
    app_id: str = Field("", validation_alias=AliasChoices("MicrosoftAppId", "app_id"))
    app_password: SecretStr = Field(
        SecretStr(""), validation_alias=AliasChoices("MicrosoftAppPassword", "app_password")
    )
    # Azure no longer creates multi-tenant bots; SingleTenant needs MicrosoftAppTenantId.
    app_type: AppType = Field(
        AppType.SINGLE_TENANT, validation_alias=AliasChoices("MicrosoftAppType", "app_type")
    )
    app_tenant_id: str = Field(
        "", validation_alias=AliasChoices("MicrosoftAppTenantId", "app_tenant_id")
    )
    app_credential: CredentialKind = Field(
        CredentialKind.AUTO,
        validation_alias=AliasChoices("PIMBOT_APP_CREDENTIAL", "app_credential"),
    )
    # A PEM file with the app registration's private key and certificate, instead of a secret
    app_certificate_path: str = Field(
        "",
        validation_alias=AliasChoices("PIMBOT_APP_CERTIFICATE_PATH", "app_certificate_path"),
    )
    # The identity endpoint Azure Container Apps and App Service give a container (managed
    # identity); names as Azure sets them.
    identity_endpoint: str = Field(
        "", validation_alias=AliasChoices("IDENTITY_ENDPOINT", "identity_endpoint")
    )
    identity_header: SecretStr = Field(
        SecretStr(""), validation_alias=AliasChoices("IDENTITY_HEADER", "identity_header")
    )
    managed_identity_client_id: str = Field(
        "",
        validation_alias=AliasChoices(
            "PIMBOT_MANAGED_IDENTITY_CLIENT_ID", "managed_identity_client_id"
        ),
    )
    # Anonymous inbound requests (Bot Framework Emulator, Microsoft 365 Agents Playground) only
    # when this says so, MicrosoftAppId is empty, and Graph is not Microsoft's.
    allow_anonymous: bool = Field(
        False, validation_alias=AliasChoices("PIMBOT_ALLOW_ANONYMOUS", "allow_anonymous")
    )
    botframework_openid_url: str = Field(
        "https://login.botframework.com/v1/.well-known/openidconfiguration",
        validation_alias=AliasChoices("PIMBOT_BOTFRAMEWORK_OPENID_URL", "botframework_openid_url"),
    )

    # HTTP
    port: int = Field(3978, validation_alias=AliasChoices("PORT", "port"))
    host: str = Field("0.0.0.0", validation_alias=AliasChoices("PIMBOT_HOST", "host"))  # noqa: S104
    # Prometheus `/metrics` on a port of its own, never on the bot's public port (0: any free one)
    metrics_port: int = Field(
        9464, ge=0, le=65535, validation_alias=AliasChoices("PIMBOT_METRICS_PORT", "metrics_port")
    )
    metrics_cache_seconds: float = Field(
        5.0,
        ge=0,
        validation_alias=AliasChoices("PIMBOT_METRICS_CACHE_SECONDS", "metrics_cache_seconds"),
    )
    # Where Teams reaches the bot (the manifest's validDomains), e.g. pimbot.contoso.com
    public_hostname: str = Field(
        "",
        validation_alias=AliasChoices("PIMBOT_PUBLIC_HOSTNAME", "public_hostname"),
    )

    # Microsoft Graph and Entra
    graph_url: str = Field(
        "https://graph.microsoft.com",
        validation_alias=AliasChoices("PIMBOT_GRAPH_URL", "graph_url"),
    )
    login_url: str = Field(
        "https://login.microsoftonline.com",
        validation_alias=AliasChoices("PIMBOT_LOGIN_URL", "login_url"),
    )
    tenant_id: str = Field("", validation_alias=AliasChoices("PIMBOT_TENANT_ID", "tenant_id"))
    graph_client_id: str = Field(
        "", validation_alias=AliasChoices("PIMBOT_GRAPH_CLIENT_ID", "graph_client_id")
    )
    graph_client_secret: SecretStr = Field(
        SecretStr(""),
        validation_alias=AliasChoices("PIMBOT_GRAPH_CLIENT_SECRET", "graph_client_secret"),
    )
    graph_certificate_path: str = Field(
        "",
        validation_alias=AliasChoices("PIMBOT_GRAPH_CERTIFICATE_PATH", "graph_certificate_path"),
    )
    graph_credential: CredentialKind = Field(
        CredentialKind.AUTO,
        validation_alias=AliasChoices("PIMBOT_GRAPH_CREDENTIAL", "graph_credential"),
    )
    graph_max_retry_seconds: float = Field(
        30.0,
        gt=0,
        validation_alias=AliasChoices("PIMBOT_GRAPH_MAX_RETRY_SECONDS", "graph_max_retry_seconds"),
    )
    # Reaching people who never opened pimbot (Graph installs the app; else a channel)
    teams_catalog_app_id: str = Field(
        "",
        validation_alias=AliasChoices("PIMBOT_TEAMS_CATALOG_APP_ID", "teams_catalog_app_id"),
    )
    approvers_channel_id: str = Field(
        "",
        validation_alias=AliasChoices("PIMBOT_APPROVERS_CHANNEL_ID", "approvers_channel_id"),
    )
    engine: EngineName = Field(
        EngineName.BOT, validation_alias=AliasChoices("PIMBOT_ENGINE", "engine")
    )

    # The admin side: transitive members of this Entra group are pimbot admins ("" : off)
    admin_group_id: str = Field(
        "", validation_alias=AliasChoices("PIMBOT_ADMIN_GROUP_ID", "admin_group_id")
    )
    # Emergency-access accounts (object ids, comma-separated): never converted, removed or
    # flagged as stale; shown as kept
    break_glass_ids: str = Field(
        "", validation_alias=AliasChoices("PIMBOT_BREAK_GLASS_IDS", "break_glass_ids")
    )
    # How long an eligibility made by `standing`'s "Convert to eligible" lasts (ISO 8601)
    eligible_window: str = Field(
        "P180D", validation_alias=AliasChoices("PIMBOT_ELIGIBLE_WINDOW", "eligible_window")
    )
    # How often the admins get a digest of what is new in PIM's alerts (ISO 8601)
    alerts_every: str = Field(
        "P1D", validation_alias=AliasChoices("PIMBOT_ALERTS_EVERY", "alerts_every")
    )
    # A Teams channel id (19:…@thread.tacv2) for the alerts digest instead of each admin's chat
    alerts_channel: str = Field(
        "", validation_alias=AliasChoices("PIMBOT_ALERTS_CHANNEL", "alerts_channel")
    )

    # State and timing
    database_url: str = Field(
        default_factory=default_database_url,
        validation_alias=AliasChoices("PIMBOT_DATABASE_URL", "database_url"),
    )
    database_auth: DatabaseAuth = Field(
        DatabaseAuth.PASSWORD,
        validation_alias=AliasChoices("PIMBOT_DATABASE_AUTH", "database_auth"),
    )
    expiry_warning_minutes: int = Field(
        15,
        ge=0,
        validation_alias=AliasChoices("PIMBOT_EXPIRY_WARNING_MINUTES", "expiry_warning_minutes"),
    )
    scheduler_interval_seconds: float = Field(
        1.0,
        gt=0,
        validation_alias=AliasChoices(
            "PIMBOT_SCHEDULER_INTERVAL_SECONDS", "scheduler_interval_seconds"
        ),
    )
    # Jobs each replica runs at a time on PostgreSQL (SQLite, one writer: one at a time)
    scheduler_concurrency: int = Field(
        8,
        ge=1,
        validation_alias=AliasChoices("PIMBOT_SCHEDULER_CONCURRENCY", "scheduler_concurrency"),
    )
    # How often the audit chain's head hash goes to the log and /metrics (0: never)
    audit_anchor_minutes: float = Field(
        5.0,
        ge=0,
        validation_alias=AliasChoices("PIMBOT_AUDIT_ANCHOR_MINUTES", "audit_anchor_minutes"),
    )
    # Seconds a SIGTERM waits for the running job; under Container Apps' 30 s termination grace.
    shutdown_grace: float = Field(
        20.0,
        ge=0,
        validation_alias=AliasChoices("PIMBOT_SHUTDOWN_GRACE", "shutdown_grace"),
    )
    log_level: str = Field("INFO", validation_alias=AliasChoices("PIMBOT_LOG_LEVEL", "log_level"))
    # Traces, metrics and logs to Application Insights (OpenTelemetry); empty: nothing exported
    applicationinsights_connection_string: SecretStr = Field(
        SecretStr(""),
        validation_alias=AliasChoices(
            "APPLICATIONINSIGHTS_CONNECTION_STRING", "applicationinsights_connection_string"
        ),
    )
    # `Authorization=AAD;ClientId=<managed identity client id>`: the telemetry is sent with the
    # managed identity's Entra token (a component with local authentication off accepts no
    # other); empty: the connection string's instrumentation key alone
    applicationinsights_authentication_string: str = Field(
        "",
        validation_alias=AliasChoices(
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
            "applicationinsights_authentication_string",
        ),
    )

    # Teams SSO's fallback sign-in: the Azure Bot resource's OAuth connection, through the Bot
    # Framework token service (Azure Bot > Configuration > OAuth Connection Settings)
    oauth_connection: str = Field(
        "pimbot-sso",  # bot/channel/rendering.py SSO_CONNECTION_NAME, infra/modules/bot.bicep
        validation_alias=AliasChoices("PIMBOT_OAUTH_CONNECTION", "oauth_connection"),
    )
    token_service_url: str = Field(
        "https://api.botframework.com",
        validation_alias=AliasChoices("PIMBOT_TOKEN_SERVICE_URL", "token_service_url"),
    )

    @field_validator("graph_url", "login_url", "token_service_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("eligible_window", "alerts_every")
    @classmethod
    def _an_iso_duration(cls, value: str, info: ValidationInfo) -> str:
        if parse_iso_duration(value.strip()) is None:
            name = (
                "PIMBOT_ELIGIBLE_WINDOW"
                if info.field_name == "eligible_window"
                else ("PIMBOT_ALERTS_EVERY")
            )
            raise ValueError(f"{name} must be an ISO 8601 duration, not {value!r}")
        return value.strip().upper()

    @property
    def break_glass(self) -> frozenset[str]:
        """The emergency-access accounts' object ids, lower-cased."""
        return frozenset(
            part.strip().lower() for part in self.break_glass_ids.split(",") if part.strip()
        )

    @property
    def graph_tenant_id(self) -> str:
        """The tenant whose Graph pimbot manages."""
        return self.tenant_id or self.app_tenant_id

    @property
    def effective_graph_client_id(self) -> str:
        return self.graph_client_id or self.app_id

    @property
    def effective_graph_client_secret(self) -> SecretStr:
        return (
            self.graph_client_secret
            if self.graph_client_secret.get_secret_value()
            else (self.app_password)
        )

    @property
    def effective_graph_certificate_path(self) -> str:
        return self.graph_certificate_path or self.app_certificate_path

    @property
    def effective_managed_identity_client_id(self) -> str:
        """The user-assigned identity: named explicitly, or the bot's own app id when the bot
        runs as that identity (`MicrosoftAppType=UserAssignedMSI`)."""
        if self.managed_identity_client_id:
            return self.managed_identity_client_id
        return self.app_id if self.app_type is AppType.USER_ASSIGNED_MSI else ""

    @property
    def effective_app_credential(self) -> CredentialKind:
        """The Bot Connector credential of the app registration `MicrosoftAppId` (not used with
        `UserAssignedMSI`, where the identity itself signs in). `auto`: a certificate if one is
        configured, else a secret if one is, else the managed identity's token as a federated
        credential."""
        if self.app_credential is not CredentialKind.AUTO:
            return self.app_credential
        if self.app_certificate_path:
            return CredentialKind.CERTIFICATE
        if self.app_password.get_secret_value():
            return CredentialKind.SECRET
        if self.managed_identity_client_id and self.identity_endpoint:
            return CredentialKind.FEDERATED_IDENTITY
        return CredentialKind.SECRET

    @property
    def effective_graph_credential(self) -> CredentialKind:
        """`auto`: a certificate if one is configured, else a secret if one is, else the managed
        identity: as a federated credential of `PIMBOT_GRAPH_CLIENT_ID` when that names another
        app registration, or directly when it is the identity itself."""
        if self.graph_credential is not CredentialKind.AUTO:
            return self.graph_credential
        if self.effective_graph_certificate_path:
            return CredentialKind.CERTIFICATE
        if self.effective_graph_client_secret.get_secret_value():
            return CredentialKind.SECRET
        identity = self.effective_managed_identity_client_id
        if identity and self.identity_endpoint:
            if self.effective_graph_client_id in ("", identity):
                return CredentialKind.MANAGED_IDENTITY
            return CredentialKind.FEDERATED_IDENTITY
        return CredentialKind.SECRET

    @property
    def anonymous(self) -> bool:
        """No app id: inbound requests are not authenticated, as the Bot Framework Emulator and
        the Microsoft 365 Agents Playground expect. Allowed only by `inbound_mode()`."""
        return not self.app_id

    @property
    def graph_is_microsofts(self) -> bool:
        host = (urlsplit(self.graph_url).hostname or "").lower().rstrip(".")
        return host in MICROSOFT_GRAPH_HOSTS

    def inbound_mode(self) -> InboundMode:
        """Authenticated with an app id. Without one, anonymous only when `PIMBOT_ALLOW_ANONYMOUS`
        is true and Graph is a stand-in; otherwise `AnonymousNotAllowed`: one missing setting
        must not make every approval forgeable while the Graph credential is live."""
        if self.app_id:
            return InboundMode.AUTHENTICATED
        if not self.allow_anonymous:
            raise AnonymousNotAllowed(
                "MicrosoftAppId is empty, so inbound requests could not be authenticated. Set "
                "MicrosoftAppId (and its credential) to the bot's app registration; only for the "
                "Bot Framework Emulator or the Microsoft 365 Agents Playground against a "
                "stand-in Graph, set PIMBOT_ALLOW_ANONYMOUS=true."
            )
        if self.graph_is_microsofts:
            raise AnonymousNotAllowed(
                "PIMBOT_ALLOW_ANONYMOUS=true is refused while PIMBOT_GRAPH_URL is Microsoft Graph "
                f"({self.graph_url}): anyone could then forge approvals that pimbot carries out "
                "with its Graph credential. Set MicrosoftAppId."
            )
        return InboundMode.ANONYMOUS
