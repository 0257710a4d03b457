"""The shipped `.m365agentsplayground.yml` speaks for the sandbox's demo tenant: pimbot refuses
people of any other organization, and the Playground wants exactly five users besides the one
chatting."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.sandbox.tenant import load_tenant

CONFIG = Path(__file__).resolve().parents[2] / ".m365agentsplayground.yml"


def test_the_playground_config_is_the_demo_tenant_with_adele_chatting_and_her_approvers() -> None:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    tenant = load_tenant()
    assert config["tenantId"] == tenant.tenant_id
    assert config["currentUser"]["aadObjectId"] == tenant.user("adele").id
    people = [config["currentUser"], *config["users"]]
    assert len(config["users"]) == 5
    for person in people:
        user = tenant.user(person["aadObjectId"])
        assert (person["name"], person["userPrincipleName"]) == (user.display_name, user.upn)
    approvers = {"megan", "nestor", "lidia"}  # Exchange Admin: Megan, Nestor; Security Leads: Lidia
    ids = {p["aadObjectId"] for p in config["users"]}
    assert {tenant.user(h).id for h in approvers} <= ids
    assert config["bot"]["id"] == f"28:{tenant.pimbot_app.client_id}"
