"""The Microsoft 365 Agents Toolkit project (m365agents*.yml, env/, appPackage/, aad.manifest*.json)
and the Azure Developer CLI project (azure.yaml, infra/main.parameters.json) are what those tools
accept: their own published schemas pass, every `${{VAR}}` is known by the time the Toolkit needs
it (it leaves an unknown one in place, literally), every parameter file fits its Bicep template,
and the app registration asks for exactly the Graph permissions docs/deploy.md gives each engine.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.js.node import run_script

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(__file__).resolve().parent / "schemas"
TOOLKIT_VERSION = "v1.11"
TOOLKIT_FILES = {"m365agents.yml": "dev", "m365agents.local.yml": "local"}
DEPLOY = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
PLACEHOLDER = re.compile(r"\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def load_yaml(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))
    return data


def toolkit_errors(project: dict[str, Any]) -> list[str]:
    schema = json.loads((SCHEMAS / f"m365agents.yaml.{TOOLKIT_VERSION}.schema.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(project)]


def azd_errors(project: dict[str, Any]) -> list[str]:
    schema = json.loads((SCHEMAS / "azure.yaml.v1.0.schema.json").read_text())
    validator = jsonschema.Draft201909Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(project)]


def env_file(name: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (ROOT / "env" / f".env.{name}").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def bicep_params(template: Path) -> dict[str, bool]:
    """Parameter name -> whether it has a default."""
    text = template.read_text(encoding="utf-8")
    return {
        m.group(1): bool(m.group(2))
        for m in re.finditer(r"^param (\w+) [\w.]+( =)?", text, re.MULTILINE)
    }


def bicep_outputs(template: Path) -> set[str]:
    return set(re.findall(r"^output (\w+) ", template.read_text(encoding="utf-8"), re.MULTILINE))


# --- the published schemas ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TOOLKIT_FILES))
def test_the_toolkit_project_passes_the_toolkits_schema(name: str) -> None:
    project = load_yaml(name)
    assert project["version"] == TOOLKIT_VERSION
    first_line = (ROOT / name).read_text(encoding="utf-8").splitlines()[0]
    assert first_line.endswith(f"/{TOOLKIT_VERSION}/yaml.schema.json"), first_line
    assert toolkit_errors(project) == []


def test_the_toolkits_schema_refuses_a_broken_project() -> None:
    project = load_yaml("m365agents.yml")
    unknown_action = copy.deepcopy(project)
    unknown_action["provision"][0]["uses"] = "teamsApp/creat"
    assert toolkit_errors(unknown_action)
    secretless = copy.deepcopy(project)
    create = next(a for a in secretless["provision"] if a["uses"] == "aadApp/create")
    del create["with"]["signInAudience"]
    assert toolkit_errors(secretless)


def test_azure_yaml_passes_azds_schema_and_a_broken_one_does_not() -> None:
    project = load_yaml("azure.yaml")
    assert azd_errors(project) == []
    broken = copy.deepcopy(project)
    broken["services"]["pimbot"]["host"] = "kubernetes-ish"
    broken["infra"]["provider"] = "Bicep!"
    assert azd_errors(broken)


# --- azd: the service, the infrastructure and its parameters --------------------------------------


def test_azd_provisions_main_bicep_and_deploys_the_dockerfile_to_the_tagged_app() -> None:
    project = load_yaml("azure.yaml")
    infra = ROOT / project["infra"]["path"]
    assert (infra / f"{project['infra']['module']}.bicep").is_file()
    service = project["services"]["pimbot"]
    assert service["host"] == "containerapp" and (ROOT / service["docker"]["path"]).is_file()
    container_app = (infra / "modules" / "containerapp.bicep").read_text(encoding="utf-8")
    assert "'azd-service-name': serviceName" in container_app
    assert "serviceName: 'pimbot'" in (infra / "main.bicep").read_text(encoding="utf-8")
    # azd pushes to the registry named by this output, and creates that registry itself.
    assert "AZURE_CONTAINER_REGISTRY_ENDPOINT" in bicep_outputs(infra / "main.bicep")


def parameter_file(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["parameters"]
    return data


@pytest.mark.parametrize(
    ("parameters", "template"),
    [
        ("infra/main.parameters.json", "infra/main.bicep"),
        ("infra/toolkit.parameters.json", "infra/main.bicep"),
        ("infra/toolkit.registry.parameters.json", "infra/modules/registry.bicep"),
        ("infra/local.parameters.json", "infra/local.bicep"),
    ],
)
def test_every_parameter_file_fits_its_template(parameters: str, template: str) -> None:
    given = parameter_file(ROOT / parameters)
    params = bicep_params(ROOT / template)
    assert set(given) - set(params) == set(), "parameters the template does not have"
    required = {name for name, has_default in params.items() if not has_default}
    assert required - set(given) == set(), "required parameters missing"


def test_azds_environment_values_without_a_default_are_documented() -> None:
    text = (ROOT / "infra" / "main.parameters.json").read_text(encoding="utf-8")
    needed = set(re.findall(r"\$\{(\w+)\}", text)) - {"AZURE_LOCATION"}
    assert needed == {
        "MICROSOFT_APP_ID",
        "PIMBOT_POSTGRES_ADMIN_GROUP_ID",
        "PIMBOT_POSTGRES_ADMIN_GROUP_NAME",
    }
    for name in needed:
        assert f"azd env set {name}" in DEPLOY, f"docs/deploy.md does not say to set {name}"


def test_azds_hook_reads_outputs_by_their_names_in_the_template() -> None:
    """azd puts a deployment's outputs in its environment with the template's own casing (only
    names the template lacks are upper-cased), and hands that environment to hooks."""
    hooks = load_yaml("azure.yaml")["hooks"]
    outputs = bicep_outputs(ROOT / "infra" / "main.bicep")
    for hook in hooks.values():
        for name in re.findall(r"\$\{?(\w+)", hook["posix"]["run"]):
            assert name in outputs or f"azd env set {name}" in DEPLOY, name


# --- the Toolkit: every placeholder is known when it is used -------------------------------------


def written_by(action: dict[str, Any]) -> set[str]:
    """Environment variables one Toolkit action writes."""
    names = set((action.get("writeToEnvironmentFile") or {}).values())
    with_ = action.get("with") or {}
    if action["uses"] == "aadApp/update":
        names.add("AAD_APP_ACCESS_AS_USER_PERMISSION_ID")  # generated when empty
    if action["uses"] == "arm/deploy":
        for template in with_["templates"]:
            names |= {name.upper() for name in bicep_outputs(ROOT / template["path"])}
    if action["uses"] == "script":
        script = re.search(r"\b(infra/scripts/[\w.-]+\.sh)\b", with_["run"])
        if script:
            text = (ROOT / script.group(1)).read_text(encoding="utf-8")
            names |= set(re.findall(r"::set-teamsfx-env (\w+)=", text))
    return names


def used_by(action: dict[str, Any]) -> set[str]:
    """Variables an action reads: in its own text and in the files it hands to its tool."""
    text = json.dumps(action.get("with") or {})
    with_ = action.get("with") or {}
    files = [t["parameters"] for t in with_.get("templates", [])]
    files += [with_[k] for k in ("manifestPath",) if k in with_]
    for name in files:
        path = PLACEHOLDER.sub(lambda m: env_file("dev").get(m.group(1), ""), name)
        text += (ROOT / path).read_text(encoding="utf-8")
    used = set(PLACEHOLDER.findall(text))
    if action["uses"] == "aadApp/update":  # it makes this id itself before applying the manifest
        used.discard("AAD_APP_ACCESS_AS_USER_PERMISSION_ID")
    return used


# Built in: the Toolkit fills these itself, asking when they are empty.
TOOLKIT_BUILT_IN = {
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_RESOURCE_GROUP_NAME",
    "TEAMSFX_ENV",
    "APP_NAME_SUFFIX",
}


@pytest.mark.parametrize(("name", "env"), sorted(TOOLKIT_FILES.items()))
def test_every_placeholder_has_a_value_when_its_action_runs(name: str, env: str) -> None:
    project = load_yaml(name)
    values = env_file(env)
    known = {key for key, value in values.items() if value} | TOOLKIT_BUILT_IN
    if env == "local":  # the dev tunnel task writes these before provision
        known |= {"BOT_ENDPOINT", "BOT_DOMAIN"}
    unknown: list[str] = []
    for stage in ("provision", "deploy", "publish"):
        for action in project.get(stage, []):
            missing = used_by(action) - known
            unknown += [f"{stage} {action['uses']}: {var}" for var in sorted(missing)]
            known |= written_by(action)
    # What a person must fill in before provision is exactly what docs/deploy.md says to fill in.
    to_fill = {
        line.split(": ", 1)[1]
        for line in unknown
        if line.split(": ", 1)[1] in values and not values[line.split(": ", 1)[1]]
    }
    assert [line for line in unknown if line.split(": ", 1)[1] not in to_fill] == []
    for var in to_fill:
        assert f"`{var}`" in DEPLOY, f"docs/deploy.md does not say to fill in {var}"


def test_the_engine_and_the_app_registration_manifest_agree_in_every_env() -> None:
    manifests = {"pim": "aad.manifest.json", "bot": "aad.manifest.bot-engine.json"}
    for env in TOOLKIT_FILES.values():
        values = env_file(env)
        assert manifests[values["PIMBOT_ENGINE"]] == values["PIMBOT_AAD_MANIFEST"]


def test_the_local_run_gets_pimbots_own_setting_names() -> None:
    from tests.deploy.settings_env import env_names

    deploy = next(
        a for a in load_yaml("m365agents.local.yml")["deploy"] if a["uses"].startswith("file/")
    )
    assert deploy["with"]["target"] == "./.env"
    assert set(deploy["with"]["envs"]) <= set(env_names().values())


# --- the app registration manifests -------------------------------------------------------------

GRAPH = "00000003-0000-0000-c000-000000000000"
# Microsoft Graph permission ids, from https://learn.microsoft.com/graph/permissions-reference
# (the Toolkit resolves names only for permissions its own copy of the list knows, which lacks
# RoleManagementPolicy.Read.Directory, so the manifests use ids).
GRAPH_PERMISSION_IDS = {
    ("Scope", "openid"): "37f7f235-527c-4136-accd-4a02d197296e",
    ("Scope", "profile"): "14dad69e-099b-42c9-810b-d002981feec1",
    ("Scope", "offline_access"): "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
    ("Scope", "User.Read"): "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
    ("Scope", "RoleAssignmentSchedule.ReadWrite.Directory"): "8c026be3-8e26-4774-9372-8d5d6f21daff",
    (
        "Scope",
        "RoleEligibilitySchedule.ReadWrite.Directory",
    ): "62ade113-f8e0-4bf9-a6ba-5acb31db32fd",
    (
        "Scope",
        "RoleManagementPolicy.ReadWrite.Directory",
    ): "1ff1be21-34eb-448c-9ac9-ce1f506b2a68",
    ("Role", "RoleManagement.ReadWrite.Directory"): "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8",
    ("Role", "RoleManagement.Read.Directory"): "483bed4a-2ad3-4361-a73b-c83ccdbdc53c",
    ("Role", "RoleManagementPolicy.Read.Directory"): "fdc4c997-9942-4479-bfcb-75a36d1138df",
    ("Role", "User.Read.All"): "df021288-bdef-4463-88db-98f22de89214",
    ("Role", "GroupMember.Read.All"): "98830695-27a2-44f7-8c18-0c3ebc9698f6",
    (
        "Role",
        "TeamsAppInstallation.ReadWriteSelfForUser.All",
    ): "908de74d-f8b2-4d6b-a9ed-2a17b3b78179",
}
TEAMS_CLIENTS = {"1fec8e78-bce4-4aaf-ab1b-5451cc387264", "5e3ce6c0-2b1f-4285-8d4b-75ee78787346"}


def documented_permissions(engine: str) -> set[tuple[str, str]]:
    """(type, name) from docs/deploy.md: the sign-in basics and the engine's table."""
    basics = DEPLOY.split("Sign-in basics for both engines", 1)[1].split("\n\n", 1)[0]
    result = {("Scope", name) for name in re.findall(r"`([\w.]+)`", basics)}
    table = re.split(r"\n#+ ", DEPLOY.split(f"\n### {engine} engine\n", 1)[1], maxsplit=1)[0]
    for name, kind in re.findall(r"^\| `([\w.]+)` \| \**(\w+)\** \|", table, re.MULTILINE):
        result.add(("Role" if kind == "Application" else "Scope", name))
    return result


def manifest_permissions(manifest: dict[str, Any]) -> set[tuple[str, str]]:
    names = {value: key for key, value in GRAPH_PERMISSION_IDS.items()}
    (graph,) = [r for r in manifest["requiredResourceAccess"] if r["resourceAppId"] == GRAPH]
    return {names[(a["id"])] for a in graph["resourceAccess"] if names[a["id"]][0] == a["type"]}


def toolkit_warnings(manifest: dict[str, Any]) -> list[str]:
    """The checks the Toolkit makes of a manifest (AadManifestHelper.validateManifest)."""
    warnings = []
    if not manifest.get("signInAudience"):
        warnings.append("signInAudience is missing")
    if not manifest.get("requiredResourceAccess"):
        warnings.append("requiredResourceAccess is missing")
    if not manifest.get("displayName"):
        warnings.append("displayName is missing")
    api = manifest.get("api") or {}
    if not api.get("oauth2PermissionScopes"):
        warnings.append("oauth2PermissionScopes is missing")
    if not api.get("preAuthorizedApplications"):
        warnings.append("preAuthorizedApplications is missing")
    if api.get("requestedAccessTokenVersion") != 2:
        warnings.append("requestedAccessTokenVersion is not 2")
    claims = (manifest.get("optionalClaims") or {}).get("accessToken") or []
    if not any(claim.get("name") == "idtyp" for claim in claims):
        warnings.append("the idtyp access token claim is missing")
    return warnings


@pytest.mark.parametrize(
    ("engine", "file"), [("pim", "aad.manifest.json"), ("bot", "aad.manifest.bot-engine.json")]
)
def test_the_app_registration_asks_for_the_documented_permissions(engine: str, file: str) -> None:
    manifest = json.loads((ROOT / file).read_text(encoding="utf-8"))
    assert toolkit_warnings(manifest) == []
    assert manifest["signInAudience"] == "AzureADMyOrg"
    assert manifest_permissions(manifest) == documented_permissions(engine)
    # Teams SSO: the resource the Teams manifest names, its scope, both Teams clients.
    assert manifest["identifierUris"] == ["api://botid-${{BOT_ID}}"]
    assert [s["value"] for s in manifest["api"]["oauth2PermissionScopes"]] == ["access_as_user"]
    assert {a["appId"] for a in manifest["api"]["preAuthorizedApplications"]} == TEAMS_CLIENTS
    assert "https://token.botframework.com/.auth/web/redirect" in manifest["web"]["redirectUris"]


# What the Toolkit puts in the placeholders before it sends the manifest to Graph (samples).
AAD_SAMPLES = {
    "AAD_APP_OBJECT_ID": "11111111-1111-4111-8111-111111111111",
    "BOT_ID": "0b6a3f8e-52d1-4c1e-9d7a-3f2e1c0b9a87",
    "APP_NAME_SUFFIX": "",
    "AAD_APP_ACCESS_AS_USER_PERMISSION_ID": "22222222-2222-4222-8222-222222222222",
}


def graph_application_unknowns(manifest_text: str) -> list[str]:
    """Properties of the manifest that Microsoft Graph's `application` resource does not have
    (Microsoft's Graph SDK models; a wrong type raises). The manifest is that resource."""
    from kiota_abstractions.serialization import Parsable
    from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
    from msgraph.generated.models.application import Application

    def unknown(node: object, path: str) -> list[str]:
        if isinstance(node, list):
            return [item for i, value in enumerate(node) for item in unknown(value, f"{path}[{i}]")]
        if not isinstance(node, Parsable):
            return []
        extra = getattr(node, "additional_data", None) or {}
        found = [f"{path}.{key}" for key in extra]
        for name, value in vars(node).items():
            if name != "additional_data":
                found += unknown(value, f"{path}.{name}")
        return found

    filled = PLACEHOLDER.sub(lambda m: AAD_SAMPLES[m.group(1)], manifest_text)
    root = JsonParseNodeFactory().get_root_parse_node("application/json", filled.encode())
    return unknown(root.get_object_value(Application), "$")


@pytest.mark.parametrize("file", ["aad.manifest.json", "aad.manifest.bot-engine.json"])
def test_the_app_registration_manifest_is_a_graph_application(file: str) -> None:
    text = (ROOT / file).read_text(encoding="utf-8")
    assert graph_application_unknowns(text) == []
    misspelt = json.loads(text)
    misspelt["api"]["preAuthorisedApplications"] = misspelt["api"].pop("preAuthorizedApplications")
    assert graph_application_unknowns(json.dumps(misspelt)) == ["$.api.preAuthorisedApplications"]


def test_the_pim_engines_registration_holds_no_application_permission_that_writes() -> None:
    manifest = json.loads((ROOT / "aad.manifest.json").read_text(encoding="utf-8"))
    roles = {name for kind, name in manifest_permissions(manifest) if kind == "Role"}
    assert roles and not [name for name in roles if ".ReadWrite." in name and "Teams" not in name]
    assert toolkit_warnings({**manifest, "api": {}}) != []  # the check can fail


# --- the Toolkit's app package ------------------------------------------------------------------

TOOLKIT_TO_PIMBOT = {"${{BOT_ID}}": "${APP_ID}", "${{BOT_DOMAIN}}": "${HOSTNAME}"}


def test_the_toolkits_app_package_is_pimbots_manifest_with_the_toolkits_placeholders() -> None:
    toolkit = (ROOT / "appPackage" / "manifest.json").read_text(encoding="utf-8")
    for theirs, ours in TOOLKIT_TO_PIMBOT.items():
        toolkit = toolkit.replace(theirs, ours)
    mapped = json.loads(toolkit)
    pimbot = json.loads(
        (ROOT / "bot" / "teams_app" / "manifest.template.json").read_text(encoding="utf-8")
    )
    # The Toolkit's Teams app id is its own (teamsApp/create); the version comes from env/.
    assert mapped.pop("id") == "${{TEAMS_APP_ID}}" and pimbot.pop("id") == "${APP_ID}"
    assert mapped.pop("version") == "${{PIMBOT_APP_VERSION}}" and pimbot.pop("version")
    assert mapped == pimbot
    for icon in ("color.png", "outline.png"):
        assert (ROOT / "appPackage" / icon).read_bytes() == (
            ROOT / "bot" / "teams_app" / icon
        ).read_bytes()


def test_the_toolkits_app_package_filled_in_passes_microsofts_schema(tmp_path: Path) -> None:
    values = {
        "TEAMS_APP_ID": "5f0a4c1e-7f43-4e8a-9d3b-1c2b3a4d5e6f",
        "BOT_ID": "0b6a3f8e-52d1-4c1e-9d7a-3f2e1c0b9a87",
        "BOT_DOMAIN": "pimbot.blue-sea-1234.westeurope.azurecontainerapps.io",
        "PIMBOT_APP_VERSION": env_file("dev")["PIMBOT_APP_VERSION"],
    }
    text = (ROOT / "appPackage" / "manifest.json").read_text(encoding="utf-8")
    filled = PLACEHOLDER.sub(lambda m: values[m.group(1)], text)
    (tmp_path / "manifest.json").write_text(filled, encoding="utf-8")
    broken = json.loads(filled)
    broken["bots"][0]["botId"] = "not-a-guid"
    (tmp_path / "broken.json").write_text(json.dumps(broken), encoding="utf-8")
    files = [str(tmp_path / "manifest.json"), str(tmp_path / "broken.json")]
    report = json.loads(run_script("validate_manifest.mjs", *files))
    assert report[files[0]] == []
    assert report[files[1]] != []


# --- alerts follow the log lines the code writes -----------------------------------------------


def test_the_alerts_match_what_pimbot_logs() -> None:
    alerts = (ROOT / "infra" / "modules" / "alerts.bicep").read_text(encoding="utf-8")
    code = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "bot").rglob("*.py"))
    assert '"job %s (%s) failed, attempt %d"' in code  # the scheduler
    assert '"job %s (%s): Teams refused it: %s"' in code
    assert '"graph %s %s -> %s in %.0f ms' in code  # the Graph client, after every attempt
    assert "failed, attempt" in alerts and "Teams refused it" in alerts
    assert (
        'parse message with "graph " method:string " " path:string " -> " status:string' in alerts
    )
    assert 'Reason_s == "ProbeFailed"' in alerts
    assert "module alerts 'modules/alerts.bicep'" in (ROOT / "infra" / "main.bicep").read_text(
        encoding="utf-8"
    )


# --- the image workflow -------------------------------------------------------------------------


def test_the_image_workflow_pushes_only_a_scanned_image_on_a_version_tag() -> None:
    workflow = load_yaml(".github/workflows/image.yml")
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"push"} and triggers["push"] == {"tags": ["v*.*.*"]}
    assert workflow["permissions"] == {"contents": "read", "id-token": "write"}
    steps = workflow["jobs"]["image"]["steps"]
    names = [step.get("name", step.get("uses")) for step in steps]
    build, scan, push = names.index("Build"), names.index("Scan (Trivy)"), names.index("Push")
    assert build < scan < push
    scanner = steps[scan]["with"]
    assert scanner["exit-code"] == "1" and "CRITICAL" in scanner["severity"]
    # OpenID Connect, no stored credential: nothing reads a secret.
    assert "secrets." not in (ROOT / ".github" / "workflows" / "image.yml").read_text("utf-8")


# --- local debugging ----------------------------------------------------------------------------


def vscode(name: str) -> dict[str, Any]:
    """A VS Code JSON file (whole-line // comments allowed)."""
    text = (ROOT / ".vscode" / name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    )
    return data


def test_debug_in_teams_tunnels_pimbots_port_then_provisions_and_deploys_locally() -> None:
    from bot.settings import Settings

    tasks = {task["label"]: task for task in vscode("tasks.json")["tasks"]}
    (compound,) = vscode("launch.json")["compounds"]
    sequence = tasks[compound["preLaunchTask"]]
    assert sequence["dependsOrder"] == "sequence"
    steps = [tasks[label] for label in sequence["dependsOn"]]
    commands = [step["command"] for step in steps]
    assert commands.index("debug-start-local-tunnel") < commands.index("provision")
    assert commands.index("provision") < commands.index("deploy")
    tunnel = next(step for step in steps if step["command"] == "debug-start-local-tunnel")
    (port,) = tunnel["args"]["ports"]
    assert port["portNumber"] == Settings.model_fields["port"].default
    # What test_every_placeholder_has_a_value_when_its_action_runs takes as written first.
    assert port["writeToEnvironmentFile"] == {"endpoint": "BOT_ENDPOINT", "domain": "BOT_DOMAIN"}
    assert {step["args"].get("env") for step in steps if "env" in step.get("args", {})} == {"local"}
    serve = next(c for c in vscode("launch.json")["configurations"] if c["name"] == "pimbot serve")
    assert serve["args"] == ["serve"] and serve["program"].endswith("/.venv/bin/pimbot")
