"""The Graph twin's resources, one module each; `RESOURCES` registers them with the router.

A module here declares `routes = Routes()` and its handlers (see `bot/sandbox/graph/router.py`).
To add one, write the module and add its name to `RESOURCES`: that one line is the registration.
"""

from __future__ import annotations

from importlib import import_module

from bot.sandbox.graph.router import Router, Routes

RESOURCES = (
    "role_definitions",
    "role_schedules",
    "schedule_requests",
    "eligibility_requests",
    "approvals",
    "role_management_policies",
    "role_assignments",
    "directory_objects",
    "directory_audits",
    "installed_apps",
    "service_principals",
    "sign_in_activities",
    "pim_alerts",
    "access_reviews",
)


def _routes_of(name: str) -> Routes:
    module = import_module(f"{__name__}.{name}")
    routes = getattr(module, "routes", None)
    if not isinstance(routes, Routes):
        raise TypeError(f"{module.__name__} declares no `routes = Routes()`")
    return routes


def build_router() -> Router:
    """A router over every registered resource module."""
    return Router(_routes_of(name) for name in RESOURCES)
