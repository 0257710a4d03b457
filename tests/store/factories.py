"""Builders for store tests: complete domain objects with every field set."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain import (
    ActivationRequest,
    Person,
    RequestKind,
    RequestState,
    Role,
    Ticket,
)

T0 = datetime(2025, 3, 30, 0, 30, 15, 123456, tzinfo=UTC)
TENANT = "tenant-contoso"
ALICE = Person(id="alice-id", tenant_id=TENANT, display_name="Alice Ng", upn="alice@contoso.test")
BOB = Person(id="bob-id", tenant_id=TENANT, display_name="Bob Ode", upn="bob@contoso.test")
CAROL = Person(id="carol-id", tenant_id=TENANT, display_name="Carol Ito", upn="carol@contoso.test")
EXCHANGE_ADMIN = Role(
    id="29232cdf-9323-42fd-ade2-1d097af3e4de",
    display_name="Exchange Administrator",
    description="Can manage all aspects of the Exchange product.",
)
SECURITY_ADMIN = Role(
    id="194ae4cb-b126-40b2-bd5b-6091b380977d", display_name="Security Administrator"
)


def a_request(**overrides: Any) -> ActivationRequest:
    """A minimal request in draft, created at T0; override any field."""
    fields: dict[str, Any] = {
        "id": f"req-{uuid.uuid4().hex[:12]}",
        "tenant_id": TENANT,
        "requester": ALICE,
        "role": EXCHANGE_ADMIN,
        "duration": timedelta(hours=2),
        "state": RequestState.DRAFT,
        "created_at": T0,
        "updated_at": T0,
    }
    fields.update(overrides)
    return ActivationRequest(**fields)


def a_request_with_every_field(**overrides: Any) -> ActivationRequest:
    """A request where no field has its default value, to prove each one is stored."""
    fields: dict[str, Any] = {
        "kind": RequestKind.EXTEND,
        "duration": timedelta(hours=1, minutes=30, seconds=7, microseconds=5),
        "justification": "Mailbox migration — ticket attached ✓",
        "ticket": Ticket(number="CHG-4711", system="ServiceNow"),
        "state": RequestState.ACTIVE,
        "approver_ids": ("carol-id", "bob-id"),
        "require_mfa": True,
        "mfa_verified_at": T0 + timedelta(minutes=1),
        "decided_by": CAROL,
        "decided_at": T0 + timedelta(minutes=2, microseconds=1),
        "decision_reason": "Fine by me",
        "graph_request_id": "3f1b2c4d-0000-4000-8000-00000000abcd",
        "start": T0 + timedelta(minutes=3),
        "end": T0 + timedelta(hours=1, minutes=33),
        "failure": "earlier attempt failed",
        "created_at": T0,
        "updated_at": T0 + timedelta(minutes=3),
        "version": 7,
    }
    fields.update(overrides)
    return a_request(**fields)
