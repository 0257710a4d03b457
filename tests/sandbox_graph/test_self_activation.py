"""selfActivate / selfDeactivate / selfExtend: a signed-in user and the role's PIM policy
(the policy rules PIM checks on each, and the errors it answers with)."""

from __future__ import annotations

from datetime import timedelta

from .conftest import (
    APP_ADMIN,
    ELIGIBILITY_INSTANCES,
    EXCHANGE,
    GLOBAL_ADMIN,
    INSTANCES,
    REQUESTS,
    SECURITY_READER,
    TEAMS_ADMIN,
    USER_ADMIN,
    Graph,
    activation,
    enable_authentication_context,
    error_of,
    minutes,
    ok,
)


async def test_eligible_user_activates_a_lax_role_at_once(graph: Graph) -> None:
    adele = graph.uid("adele")
    token = graph.tokens.user("adele", mfa=False)
    created = await ok(
        await graph.post(
            REQUESTS, token=token, json=activation(adele, USER_ADMIN, justification=None)
        ),
        201,
    )
    assert created["status"] == "Provisioned"
    assert created["action"] == "selfActivate"
    assert created["createdBy"]["user"]["id"] == adele
    assert created["targetScheduleId"] == created["id"]
    assert created["scheduleInfo"]["expiration"] == {
        "type": "afterDuration",
        "endDateTime": None,
        "duration": "PT1H",
    }
    assert created["@odata.context"].endswith(
        "/v1.0/$metadata#roleManagement/directory/roleAssignmentScheduleRequests/$entity"
    )
    instances = await ok(
        await graph.get(
            INSTANCES,
            params={"$filter": f"principalId eq '{adele}' and roleDefinitionId eq '{USER_ADMIN}'"},
        )
    )
    [instance] = instances["value"]
    assert instance["assignmentType"] == "Activated"
    assert instance["memberType"] == "Direct"
    assert instance["startDateTime"] == "2026-03-02T09:00:00Z"
    assert instance["endDateTime"] == "2026-03-02T10:00:00Z"
    assert instance["roleAssignmentScheduleId"] == created["id"]


async def test_enum_values_are_accepted_in_any_case_and_answered_in_camel_case(
    graph: Graph,
) -> None:
    body = activation(graph.uid("adele"), USER_ADMIN)
    body["action"] = "SELFACTIVATE"
    body["scheduleInfo"]["expiration"]["type"] = "afterduration"
    created = await ok(await graph.post(REQUESTS, token=graph.tokens.user("adele"), json=body), 201)
    assert created["action"] == "selfActivate"
    assert created["scheduleInfo"]["expiration"]["type"] == "afterDuration"


async def test_activation_without_eligibility_fails_the_eligibility_rule(graph: Graph) -> None:
    response = await graph.post(
        REQUESTS, token=graph.tokens.user("alex"), json=activation(graph.uid("alex"), GLOBAL_ADMIN)
    )
    error = await error_of(response, 400)
    assert error["code"] == "RoleAssignmentRequestPolicyValidationFailed"
    assert error["message"] == 'The following policy rules failed: ["EligibilityRule"]'


async def test_default_policy_without_mfa_fails_the_mfa_rule(graph: Graph) -> None:
    johanna = graph.uid("johanna")
    response = await graph.post(
        REQUESTS,
        token=graph.tokens.user("johanna", mfa=False),
        json=activation(johanna, TEAMS_ADMIN),
    )
    error = await error_of(response, 400)
    assert error["code"] == "RoleAssignmentRequestPolicyValidationFailed"
    assert error["message"] == 'The following policy rules failed: ["MfaRule"]'


async def test_every_failed_rule_is_listed(graph: Graph) -> None:
    adele = graph.uid("adele")
    response = await graph.post(
        REQUESTS,
        token=graph.tokens.user("adele", mfa=False),
        json=activation(adele, GLOBAL_ADMIN, justification="  ", duration="PT3H"),
    )
    error = await error_of(response, 400)
    assert error["message"] == (
        'The following policy rules failed: ["MfaRule", "JustificationRule", "TicketingRule", '
        '"ExpirationRule"]'
    )


async def test_ticket_and_justification_satisfy_the_application_administrator_policy(
    graph: Graph,
) -> None:
    adele = graph.uid("adele")
    token = graph.tokens.user("adele", mfa=False)
    missing = await graph.post(REQUESTS, token=token, json=activation(adele, APP_ADMIN))
    assert (await error_of(missing, 400))["message"].endswith('["TicketingRule"]')
    created = await graph.post(
        REQUESTS, token=token, json=activation(adele, APP_ADMIN, ticket="CHG-42")
    )
    body = await ok(created, 201)
    assert body["status"] == "Provisioned"
    assert body["ticketInfo"] == {"ticketNumber": "CHG-42", "ticketSystem": "ServiceNow"}


async def test_duration_beyond_the_maximum_fails_the_expiration_rule(graph: Graph) -> None:
    adele = graph.uid("adele")
    token = graph.tokens.user("adele")
    too_long = await graph.post(
        REQUESTS, token=token, json=activation(adele, USER_ADMIN, duration="PT8H1M")
    )
    assert (await error_of(too_long, 400))["message"].endswith('["ExpirationRule"]')
    no_end = await graph.post(
        REQUESTS, token=token, json=activation(adele, USER_ADMIN, duration=None)
    )
    assert (await error_of(no_end, 400))["message"].endswith('["ExpirationRule"]')
    at_most = await graph.post(
        REQUESTS, token=token, json=activation(adele, USER_ADMIN, duration="PT8H")
    )
    assert (await ok(at_most, 201))["status"] == "Provisioned"


async def test_self_activation_with_an_app_only_token_is_refused(graph: Graph) -> None:
    response = await graph.post(REQUESTS, json=activation(graph.uid("adele"), USER_ADMIN))
    assert (await error_of(response, 403))["code"] == "Authorization_RequestDenied"


async def test_self_activation_for_someone_else_is_refused(graph: Graph) -> None:
    response = await graph.post(
        REQUESTS, token=graph.tokens.user("alex"), json=activation(graph.uid("adele"), USER_ADMIN)
    )
    assert (await error_of(response, 403))["code"] == "Authorization_RequestDenied"


async def test_token_without_a_write_scope_is_refused(graph: Graph) -> None:
    token = graph.tokens.user("adele", scp="RoleManagement.Read.Directory")
    response = await graph.post(
        REQUESTS, token=token, json=activation(graph.uid("adele"), USER_ADMIN)
    )
    assert (await error_of(response, 403))["code"] == "Authorization_RequestDenied"


async def test_activating_an_active_role_again_is_refused(graph: Graph) -> None:
    adele = graph.uid("adele")
    token = graph.tokens.user("adele")
    await ok(await graph.post(REQUESTS, token=token, json=activation(adele, USER_ADMIN)), 201)
    again = await graph.post(REQUESTS, token=token, json=activation(adele, USER_ADMIN))
    error = await error_of(again, 400)
    assert error == {
        **error,
        "code": "RoleAssignmentExists",
        "message": "The Role assignment already exists.",
    }


async def test_second_request_while_one_awaits_approval_is_refused(graph: Graph) -> None:
    alex = graph.uid("alex")
    token = graph.tokens.user("alex")
    first = await ok(await graph.post(REQUESTS, token=token, json=activation(alex, EXCHANGE)), 201)
    assert first["status"] == "PendingApproval"
    second = await graph.post(REQUESTS, token=token, json=activation(alex, EXCHANGE))
    assert (await error_of(second, 400))["code"] == "PendingRoleAssignmentRequest"


async def test_authentication_context_rule_answers_with_a_claims_challenge(graph: Graph) -> None:
    await enable_authentication_context(graph, SECURITY_READER, "c1")
    megan = graph.uid("megan")
    response = await graph.post(
        REQUESTS, token=graph.tokens.user("megan"), json=activation(megan, SECURITY_READER)
    )
    error = await error_of(response, 400)
    assert error["code"] == "RoleAssignmentRequestAcrsValidationFailed"
    assert 'claims={"access_token":{"acrs":{"essential":true,"value":"c1"}}}' in error["message"]
    stepped_up = await graph.post(
        REQUESTS,
        token=graph.tokens.user("megan", acrs=["c1"]),
        json=activation(megan, SECURITY_READER),
    )
    assert (await ok(stepped_up, 201))["status"] == "Provisioned"


async def test_deactivation_within_five_minutes_is_refused_then_allowed(graph: Graph) -> None:
    adele = graph.uid("adele")
    token = graph.tokens.user("adele")
    await ok(await graph.post(REQUESTS, token=token, json=activation(adele, USER_ADMIN)), 201)
    deactivate = activation(adele, USER_ADMIN, action="selfDeactivate", duration=None)
    graph.clock.advance(minutes(4))
    early = await graph.post(REQUESTS, token=token, json=deactivate)
    error = await error_of(early, 400)
    assert error["code"] == "ActiveDurationTooShort"
    assert error["message"] == "The Active duration is too short. Miniumum Required is 5 minutes."
    graph.clock.advance(minutes(1))
    done = await ok(await graph.post(REQUESTS, token=token, json=deactivate), 201)
    assert done["status"] == "Revoked"
    instances = await ok(
        await graph.get(INSTANCES, params={"$filter": f"principalId eq '{adele}'"})
    )
    assert [i["roleDefinitionId"] for i in instances["value"]] == []


async def test_deactivating_what_is_not_active_is_refused(graph: Graph) -> None:
    adele = graph.uid("adele")
    response = await graph.post(
        REQUESTS,
        token=graph.tokens.user("adele"),
        json=activation(adele, USER_ADMIN, action="selfDeactivate", duration=None),
    )
    error = await error_of(response, 400)
    assert error["code"] == "RoleAssignmentDoesNotExist"
    assert error["message"] == "The Role assignment does not exist."


async def test_eligibility_stays_while_the_role_is_active(graph: Graph) -> None:
    adele = graph.uid("adele")
    token = graph.tokens.user("adele")
    await ok(await graph.post(REQUESTS, token=token, json=activation(adele, USER_ADMIN)), 201)
    eligible = await ok(
        await graph.get(
            ELIGIBILITY_INSTANCES + "/filterByCurrentUser(on='principal')",
            token=token,
            params={"$expand": "roleDefinition"},
        )
    )
    names = {i["roleDefinition"]["displayName"] for i in eligible["value"]}
    assert "User Administrator" in names and len(names) == 6


async def test_future_start_is_granted_and_becomes_active_at_its_start(graph: Graph) -> None:
    adele = graph.uid("adele")
    start = graph.clock() + timedelta(hours=2)
    created = await ok(
        await graph.post(
            REQUESTS,
            token=graph.tokens.user("adele"),
            json=activation(adele, USER_ADMIN, start=start),
        ),
        201,
    )
    assert created["status"] == "Granted"
    assert created["completedDateTime"] == "2026-03-02T11:00:00Z"
    query = {"$filter": f"principalId eq '{adele}'"}
    assert (await ok(await graph.get(INSTANCES, params=query)))["value"] == []
    graph.clock.advance(hours=2)
    [instance] = (await ok(await graph.get(INSTANCES, params=query)))["value"]
    assert instance["startDateTime"] == "2026-03-02T11:00:00Z"
    request = await ok(await graph.get(f"{REQUESTS}/{created['id']}"))
    assert request["status"] == "Provisioned"


async def test_cancel_withdraws_a_granted_request_but_not_a_provisioned_one(
    graph: Graph,
) -> None:
    adele = graph.uid("adele")
    token = graph.tokens.user("adele")
    later = graph.clock() + timedelta(hours=1)
    granted = await ok(
        await graph.post(REQUESTS, token=token, json=activation(adele, USER_ADMIN, start=later)),
        201,
    )
    cancel = await graph.post(f"{REQUESTS}/{granted['id']}/cancel", token=token)
    assert cancel.status == 204
    assert (await ok(await graph.get(f"{REQUESTS}/{granted['id']}")))["status"] == "Canceled"
    provisioned = await ok(
        await graph.post(REQUESTS, token=token, json=activation(adele, USER_ADMIN)), 201
    )
    refused = await graph.post(f"{REQUESTS}/{provisioned['id']}/cancel", token=token)
    assert (await error_of(refused, 400))["code"] == "BadRequest"
    missing = await graph.post(f"{REQUESTS}/00000000-0000-0000-0000-000000000001/cancel")
    await error_of(missing, 404)


async def test_self_extend_of_an_activation_is_refused(graph: Graph) -> None:
    adele = graph.uid("adele")
    token = graph.tokens.user("adele")
    await ok(await graph.post(REQUESTS, token=token, json=activation(adele, USER_ADMIN)), 201)
    response = await graph.post(
        REQUESTS, token=token, json=activation(adele, USER_ADMIN, action="selfExtend")
    )
    assert (await error_of(response, 400))["code"] == "RoleAssignmentDoesNotExist"


async def test_self_extend_of_a_time_bound_assignment_waits_for_an_admin(graph: Graph) -> None:
    alex = graph.uid("alex")
    await ok(
        await graph.post(
            REQUESTS, json=activation(alex, USER_ADMIN, action="adminAssign", duration="PT2H")
        ),
        201,
    )
    extend = await ok(
        await graph.post(
            REQUESTS,
            token=graph.tokens.user("alex"),
            json=activation(alex, USER_ADMIN, action="selfExtend", duration="PT4H"),
        ),
        201,
    )
    assert extend["status"] == "PendingAdminDecision"


async def test_requests_are_listed_and_filtered_for_the_current_principal(graph: Graph) -> None:
    adele, alex = graph.uid("adele"), graph.uid("alex")
    await ok(
        await graph.post(
            REQUESTS, token=graph.tokens.user("adele"), json=activation(adele, USER_ADMIN)
        ),
        201,
    )
    await ok(
        await graph.post(
            REQUESTS, token=graph.tokens.user("alex"), json=activation(alex, EXCHANGE)
        ),
        201,
    )
    mine = await ok(
        await graph.get(
            REQUESTS + "/filterByCurrentUser(on='principal')",
            token=graph.tokens.user("alex"),
            params={
                "$filter": "status eq 'PendingApproval'",
                "$expand": "roleDefinition,principal",
            },
        )
    )
    [only] = mine["value"]
    assert only["principal"]["userPrincipalName"] == "alex@contoso.example"
    assert only["roleDefinition"]["displayName"] == "Exchange Administrator"
    everyone = await ok(await graph.get(REQUESTS, params={"$filter": "status eq 'Provisioned'"}))
    assert [r["principalId"] for r in everyone["value"]] == [adele]
