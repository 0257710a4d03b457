"""The twin's router: every resource module is registered, and a new module's routes are served
the moment it is registered."""

from __future__ import annotations

import pkgutil
import re

import pytest
from yarl import URL

import bot.sandbox.graph.resources as resources
from bot.sandbox.graph.auth import Caller
from bot.sandbox.graph.context import TwinContext
from bot.sandbox.graph.errors import GraphHttpError
from bot.sandbox.graph.role_management import RoleManagement
from bot.sandbox.graph.router import ID, GraphRequest, GraphResponse, Router, Routes
from bot.sandbox.graph.state import seed_state
from bot.sandbox.graph.values import utc_now
from bot.sandbox.tenant import load_tenant


def test_every_resource_module_is_registered() -> None:
    modules = {m.name for m in pkgutil.iter_modules(resources.__path__)}
    assert modules == set(resources.RESOURCES)
    assert len(resources.build_router().routes) > len(modules)


def _twin() -> TwinContext:
    tenant = load_tenant()
    return TwinContext(RoleManagement(tenant, seed_state(tenant), utc_now), page_size=100)


def _request(method: str, path: str) -> GraphRequest:
    url = URL(f"http://graph.test/v1.0{path}")
    return GraphRequest(method, "v1.0", path, {}, None, Caller({}), url)


def _things() -> Routes:
    routes = Routes()

    @routes.route("GET", f"/things/{ID}")
    def get_thing(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        return GraphResponse(200, {"id": match["id"]})

    return routes


def test_a_new_resource_is_served_once_its_routes_are_registered() -> None:
    router = Router([_things()])
    response, mutates = router.dispatch(_twin(), _request("GET", "/things/t1"))
    assert (response.status, response.body, mutates) == (200, {"id": "t1"}, False)


def test_a_known_path_called_with_another_method_is_405_with_allow() -> None:
    router = Router([_things()])
    with pytest.raises(GraphHttpError) as refused:
        router.dispatch(_twin(), _request("DELETE", "/things/t1"))
    assert refused.value.status == 405
    assert refused.value.headers == {"Allow": "GET"}


def test_an_unknown_path_names_the_unknown_segment() -> None:
    router = Router([_things()])
    with pytest.raises(GraphHttpError) as refused:
        router.dispatch(_twin(), _request("GET", "/widgets/w1"))
    assert (refused.value.status, refused.value.code) == (400, "BadRequest")
    assert "widgets" in refused.value.message


def test_two_modules_declaring_the_same_route_are_refused() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        Router([_things(), _things()])
