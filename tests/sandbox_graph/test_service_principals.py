"""The Graph twin's Microsoft Graph service principal names every application permission the demo
tenant's apps hold: an app role assignment the twin cannot name would silently not be listed, and
`pimbot doctor` would report a granted permission as missing."""

from __future__ import annotations

from bot.sandbox.graph.resources.service_principals import GRAPH_APP_ROLES
from bot.sandbox.tenant import load_tenant


def test_every_application_permission_of_the_demo_apps_is_one_graph_names() -> None:
    held = {name for app in load_tenant().apps for name in app.application_permissions}
    assert held - set(GRAPH_APP_ROLES) == set()
