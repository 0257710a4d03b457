"""OpenTelemetry traces and metrics, exported to Azure Monitor Application Insights.

Spans: one per turn (`pimbot.turn`, in the channel layer), one per Graph request with its retries
(`graph <METHOD>`), one per scheduled job (`pimbot.job`). Each carries the correlation id the log
lines of the same work carry (`pimbot.correlation_id`), so a trace in Application Insights and
the JSON log lines on stdout find each other. Metrics: turns, Graph requests (with their
duration) and jobs, counted by outcome.

Nothing is exported unless `APPLICATIONINSIGHTS_CONNECTION_STRING` is set: then
`configure_telemetry` sets up the Azure Monitor distro once, at start-up. When
`APPLICATIONINSIGHTS_AUTHENTICATION_STRING` is `Authorization=AAD;ClientId=<client id>` (what
infra/ sets: its Application Insights component has local authentication off and accepts only
Microsoft Entra-authenticated telemetry), the exporter sends the managed identity's token for
Azure Monitor with every batch (`entra_credential`). Without it the
OpenTelemetry API stays the no-op it is by default (no SDK, no exporter, no thread). Tests put
in-memory providers in place with `use_providers`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry.metrics import Counter, Histogram, MeterProvider, get_meter
from opentelemetry.trace import Span, Status, StatusCode, Tracer, TracerProvider, get_tracer

from bot.client_credentials import BlockingManagedIdentity
from bot.logging_setup import SecretRedactor, current_correlation_id

log = logging.getLogger(__name__)

INSTRUMENTATION = "pimbot"
SERVICE_NAME = "pimbot"
CORRELATION_ATTRIBUTE = "pimbot.correlation_id"
AttributeValue = str | bool | int | float


@dataclass
class _Providers:
    """Where spans and measurements go: the global providers, unless a test set its own."""

    tracer: TracerProvider | None = None
    meter: MeterProvider | None = None


_providers = _Providers()


def use_providers(tracer: TracerProvider | None, meter: MeterProvider | None = None) -> None:
    """Send spans and measurements to these providers (None: back to the global ones)."""
    _providers.tracer = tracer
    _providers.meter = meter
    _instruments.clear()


class TelemetryAuthError(ValueError):
    """APPLICATIONINSIGHTS_AUTHENTICATION_STRING asks for something pimbot cannot do."""


def entra_credential(
    authentication_string: str,
    *,
    identity_endpoint: str,
    identity_header: str,
    default_client_id: str,
) -> BlockingManagedIdentity | None:
    """The credential the exporter presents, from `Authorization=AAD;ClientId=<client id>` (keys
    in any case; without ClientId, the identity pimbot already uses); None when the string is
    empty: the connection string's instrumentation key alone (local authentication)."""
    if not authentication_string.strip():
        return None
    fields: dict[str, str] = {}
    for pair in authentication_string.split(";"):
        if not pair.strip():
            continue
        key, equals, value = pair.partition("=")
        if not equals:
            raise TelemetryAuthError(
                f"APPLICATIONINSIGHTS_AUTHENTICATION_STRING: {pair.strip()!r} is not key=value"
            )
        fields[key.strip().lower()] = value.strip()
    if fields.get("authorization", "").upper() != "AAD":
        raise TelemetryAuthError(
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING must say Authorization=AAD "
            "(and ClientId=<the managed identity's client id>), or be empty"
        )
    client_id = fields.get("clientid") or default_client_id
    if not client_id:
        raise TelemetryAuthError(
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING: no ClientId, and "
            "PIMBOT_MANAGED_IDENTITY_CLIENT_ID is empty: name the user-assigned identity"
        )
    if not identity_endpoint:
        raise TelemetryAuthError(
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING asks for the managed identity's token, "
            "but IDENTITY_ENDPOINT is not set (Azure Container Apps and App Service set it)"
        )
    return BlockingManagedIdentity(identity_endpoint, identity_header, client_id)


def configure_telemetry(
    connection_string: str,
    *,
    secrets: tuple[str, ...] = (),
    credential: BlockingManagedIdentity | None = None,
) -> bool:
    """Export traces, metrics and pimbot's own log records to Application Insights; False (and
    nothing configured) when `connection_string` is empty. Exported log records are redacted as
    the stdout ones are. With a `credential`, every export carries its Entra token; without,
    none (pimbot always passes it, so the exporter never reads the authentication string from
    the environment itself)."""
    if not connection_string:
        return False
    from azure.monitor.opentelemetry import configure_azure_monitor

    # Application Insights shows it as the cloud role name.
    os.environ.setdefault("OTEL_SERVICE_NAME", SERVICE_NAME)
    configure_azure_monitor(
        connection_string=connection_string,
        credential=credential,
        # Spans of `requests`/`urllib` calls would record whole URLs, and the token service's
        # carries the person's magic code in its query: pimbot's own spans cover its calls.
        instrumentation_options={
            name: {"enabled": False} for name in ("requests", "urllib", "urllib3")
        },
        logger_name="bot",
        logging_formatter=_RedactingFormatter(SecretRedactor(secrets)),
    )
    how = "with the managed identity's Entra token" if credential else "with the connection string"
    log.info("OpenTelemetry: traces, metrics and logs go to Application Insights (%s)", how)
    return True


class _RedactingFormatter(logging.Formatter):
    def __init__(self, redact: SecretRedactor) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


def _tracer() -> Tracer:
    return get_tracer(INSTRUMENTATION, tracer_provider=_providers.tracer)


_instruments: dict[str, Counter | Histogram] = {}


def _counter(name: str, description: str) -> Counter:
    instrument = _instruments.get(name)
    if not isinstance(instrument, Counter):
        meter = get_meter(INSTRUMENTATION, meter_provider=_providers.meter)
        instrument = meter.create_counter(name, unit="1", description=description)
        _instruments[name] = instrument
    return instrument


def _histogram(name: str, unit: str, description: str) -> Histogram:
    instrument = _instruments.get(name)
    if not isinstance(instrument, Histogram):
        meter = get_meter(INSTRUMENTATION, meter_provider=_providers.meter)
        instrument = meter.create_histogram(name, unit=unit, description=description)
        _instruments[name] = instrument
    return instrument


@contextmanager
def work_span(name: str, attributes: Mapping[str, AttributeValue]) -> Iterator[Span]:
    """A span around one piece of work, carrying the current correlation id; an exception that
    leaves it marks the span failed (and is recorded) before it goes on."""
    with _tracer().start_as_current_span(
        name, attributes=dict(attributes), record_exception=True, set_status_on_exception=True
    ) as span:
        correlation_id = current_correlation_id()
        if correlation_id:
            span.set_attribute(CORRELATION_ATTRIBUTE, correlation_id)
        yield span


def mark_failed(span: Span, description: str) -> None:
    span.set_status(Status(StatusCode.ERROR, description))


# --- what is counted ----------------------------------------------------------------------------


def count_turn(activity_type: str, status: int) -> None:
    _counter("pimbot.turns", "Activities handled, by type and HTTP answer").add(
        1, {"activity.type": activity_type, "http.response.status_code": status}
    )


def record_graph_request(method: str, status: int | None, seconds: float) -> None:
    attributes: dict[str, Any] = {"http.request.method": method}
    if status is not None:
        attributes["http.response.status_code"] = status
    else:
        attributes["error.type"] = "no_response"
    _counter("pimbot.graph.requests", "Graph requests, retries included in one").add(1, attributes)
    _histogram(
        "pimbot.graph.request.duration", "s", "Time of one Graph request, retries included"
    ).record(seconds, attributes)


def count_job(kind: str, outcome: str) -> None:
    _counter("pimbot.jobs", "Scheduled jobs run, by kind and outcome").add(
        1, {"pimbot.job.kind": kind, "pimbot.job.outcome": outcome}
    )
