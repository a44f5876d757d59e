"""The tables, bucket, queues, bus and user pool of the tests come from template.yaml."""

from __future__ import annotations

import boto3

from local.cfn import Stack, load_template
from portal_common.config import get_settings
from portal_common.members import get_member


def test_tables_match_the_template(aws: Stack) -> None:
    client = boto3.client("dynamodb", region_name="ca-central-1")
    template = load_template()["Resources"]
    for logical_id in ("MembersTable", "ClaimsTable", "ProvidersTable", "DrugsTable", "IdempotencyTable"):
        table = client.describe_table(TableName=aws.name(logical_id))["Table"]
        props = template[logical_id]["Properties"]
        assert table["KeySchema"] == props["KeySchema"]
        assert sorted(i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])) == sorted(
            i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])
        )
        assert bool(table.get("StreamSpecification")) == ("StreamSpecification" in props)


def test_environment_points_at_created_resources(aws: Stack) -> None:
    settings = get_settings()
    assert settings.members_table == aws.name("MembersTable")
    assert settings.documents_bucket in [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    assert settings.event_bus_name in [b["Name"] for b in boto3.client("events").list_event_buses()["EventBuses"]]
    assert settings.user_pool_id == aws.name("UserPool")


def test_every_function_handler_module_exists(aws: Stack) -> None:
    for spec in aws.functions().values():
        assert (spec.code_uri / f"{spec.module}.py").exists() or spec.module, spec.logical_id


def test_roster_import_and_reimport_update_in_place(seeded: Stack) -> None:
    from portal_common.roster import COLUMNS, parse_roster
    from portal_common.roster_store import write_roster

    member = get_member("G1001", "100001")
    assert member is not None
    assert member.plan_id == "PLAN-ESSENTIEL"
    assert [p.relationship for p in member.persons] == ["SELF", "SPOUSE", "CHILD", "CHILD"]
    # Re-import: Félix leaves, the member changes plan; nothing is duplicated.
    header = ",".join(COLUMNS) + "\n"
    text = header + "\n".join(
        [
            "G1001,100001,SELF,Marie,Tremblay,1984-03-12,PLAN-PLUS,2020-01-01,,N,N,fr",
            "G1001,100001,SPOUSE,Jean,Tremblay,1982-11-05,PLAN-PLUS,2020-01-01,,N,N,fr",
            "G1001,100001,CHILD,Léa,Tremblay,2015-06-20,PLAN-PLUS,2020-01-01,,N,N,fr",
            "G1001,100001,CHILD,Bad,Row,not-a-date,PLAN-PLUS,2020-01-01,,N,N,fr",
        ]
    )
    report = write_roster(parse_roster(text, known_plans={"PLAN-PLUS", "PLAN-ESSENTIEL"}))
    assert report.persons == 3
    assert report.removed_persons == 1
    assert [e.line for e in report.errors] == [5]
    again = get_member("G1001", "100001")
    assert again is not None
    assert again.plan_id == "PLAN-PLUS"
    assert len(again.persons) == 4
    assert [p.first_name for p in again.persons if not p.in_roster] == ["Félix"]


def test_the_app_client_cannot_write_email_or_the_roster_link() -> None:
    """Cognito's doors in the template: what a member's access token may write, how long tokens live."""
    resources = load_template()["Resources"]
    client = resources["UserPoolClient"]["Properties"]
    assert client["WriteAttributes"] == ["locale"]
    assert "email" in client["ReadAttributes"]
    pool = resources["UserPool"]["Properties"]
    assert pool["UserAttributeUpdateSettings"]["AttributesRequireVerificationBeforeUpdate"] == ["email"]
    # Cognito lets every client write a required attribute: email must not be one.
    assert not any(a.get("Required") for a in pool["Schema"])
    assert pool["UserPoolAddOns"]["AdvancedSecurityMode"] == {"Ref": "ThreatProtection"}
    assert load_template()["Parameters"]["ThreatProtection"]["Default"] == "ENFORCED"
    # Revocation bites within 5 minutes: ID and access tokens live 5 minutes.
    assert (client["IdTokenValidity"], client["AccessTokenValidity"]) == (5, 5)
    assert client["TokenValidityUnits"]["IdToken"] == client["TokenValidityUnits"]["AccessToken"] == "minutes"


def test_the_seeded_fixture_puts_what_the_seed_writes(seeded: Stack) -> None:
    """After a process's first seed, ``seeded`` puts the items that seed wrote straight into each
    later test's members table (``tests/moto_speedups.seed``): they must be exactly what the
    functions' code writes (plans and demo roster), or every later test would run on other data."""
    from local.inprocess_aws import seed_plans_and_demo_roster
    from portal_common.dynamo import batch_write
    from tests import moto_speedups

    client = boto3.client("dynamodb", region_name=seeded.region)
    name = get_settings().members_table
    key_names = [k["AttributeName"] for k in client.describe_table(TableName=name)["Table"]["KeySchema"]]

    def contents() -> list[dict[str, object]]:
        items = [i for page in client.get_paginator("scan").paginate(TableName=name) for i in page["Items"]]
        return sorted(items, key=lambda item: [str(item[k]) for k in key_names])

    def empty() -> None:
        from portal_common.dynamo import from_item

        batch_write(name, deletes=[{k: from_item(i)[k] for k in key_names} for i in contents()])  # type: ignore[index]
        assert contents() == []

    empty()
    seed_plans_and_demo_roster()
    written = contents()
    empty()
    moto_speedups.put_seed_items(seeded)
    assert written
    assert contents() == written
