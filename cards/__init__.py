"""Adaptive Cards (1.5) for Teams: pure functions from pimbot's types to card JSON, and the typed
payloads their buttons send back (`cards.actions`)."""

from cards.actions import (
    Approve,
    CancelRequest,
    CardAction,
    DeactivateRole,
    Deny,
    ExtendRole,
    InvalidAction,
    PickRole,
    Refresh,
    RetryRequest,
    SubmitRequest,
    Verb,
    parse_action,
)
from cards.activation import activation_form, not_eligible, role_choices
from cards.approval import approval_decided, approval_request
from cards.cancel import which_to_cancel
from cards.info import error_card, help_card
from cards.lists import my_roles, pending_list
from cards.status import activated, ended, expiry_warning, request_status

__all__ = [
    "Approve",
    "CancelRequest",
    "CardAction",
    "DeactivateRole",
    "Deny",
    "ExtendRole",
    "InvalidAction",
    "PickRole",
    "Refresh",
    "RetryRequest",
    "SubmitRequest",
    "Verb",
    "activated",
    "activation_form",
    "approval_decided",
    "approval_request",
    "ended",
    "error_card",
    "expiry_warning",
    "help_card",
    "my_roles",
    "not_eligible",
    "parse_action",
    "pending_list",
    "request_status",
    "role_choices",
    "which_to_cancel",
]
