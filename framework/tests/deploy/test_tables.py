"""macaron.deploy._tables: the DynamoDB tables and the instance policy a service needs, generated from
the x-persist models of its spec. Created against moto in server mode on 127.0.0.1 (never AWS);
planned (each request checked against botocore's DynamoDB model) with --dry-run."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import replace

import boto3
import pytest
from macaron._local.motoserver import FAKE_AWS, MotoServer
from macaron.deploy._aws import AwsAdapter
from macaron.deploy._config import load_deploy_config
from macaron.deploy._tables import ensure_tables, instance_policy, persisted_tables
from macaron.store._dynamodb import DynamoStore

from ..fixtures.deploy import support

ROOT = support.REAL_ROOT


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with MotoServer() as server:
        yield server.url


def test_the_tables_are_the_spec_x_persist_models_under_the_deploy_prefix() -> None:
    user, mail = load_deploy_config(ROOT, "user"), load_deploy_config(ROOT, "mail", "staging")
    assert [name for name, _ in persisted_tables(user)] == ["macaron-live-user-outbox", "macaron-live-user-users"]
    assert [name for name, _ in persisted_tables(mail)] == ["macaron-staging-mail-mails"]
    policy = instance_policy(user, persisted_tables(user), "123456789012", "macaron")
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/"
    assert by_sid["StoreItems"]["Resource"] == [table + "macaron-live-user-outbox", table + "macaron-live-user-users"]
    assert "dynamodb:CreateTable" not in by_sid["StoreItems"]["Action"]  # the deploy creates them
    assert by_sid["StoreLookups"]["Resource"] == [
        "arn:aws:dynamodb:us-east-1:123456789012:table/macaron-live-user-outbox/index/by_state"]  # find_all_by
    assert by_sid["QueueMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "macaron"}}


def test_missing_tables_are_created_as_the_store_would_and_the_store_uses_them(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in FAKE_AWS.items():
        monkeypatch.setenv(name, value)
    cfg = replace(load_deploy_config(ROOT, "user"), account_id="123456789012")
    aws = AwsAdapter("us-east-1", endpoint_url=moto_url)
    said: list[str] = []
    assert ensure_tables(aws, cfg, said.append, support.FakeTime().clock) == (
        "tables macaron-live-user-outbox, macaron-live-user-users (created 2)")
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_url)
    outbox = client.describe_table(TableName="macaron-live-user-outbox")["Table"]
    assert outbox["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [g["IndexName"] for g in outbox["GlobalSecondaryIndexes"]] == ["by_state"]
    assert json.loads("\n".join(said[1:]))["Statement"][0]["Sid"] == "StoreItems"
    # the store of a running instance finds its table ready: no CreateTable of its own
    store = DynamoStore("macaron-live-user-", region="us-east-1", endpoint_url=moto_url)
    [(_, spec)] = [t for t in persisted_tables(cfg) if t[0].endswith("outbox")]
    store.put(spec, {"id": "k", "kind": "mail", "to": "a@example.com", "state": "pending", "attempts": 0,
                     "next_at": 0, "lease_until": 0, "created_at": 0})
    assert [i["id"] for i in store.find(spec, "state", "pending")] == ["k"]
    again: list[str] = []
    assert ensure_tables(aws, cfg, again.append).endswith("(all exist)")
    assert [c.operation for c in aws.calls].count("CreateTable") == 2


def test_the_dry_run_plans_each_table_and_prints_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    support.fake_aws_env(monkeypatch, credentials=False)
    out = io.StringIO()
    aws = AwsAdapter("us-east-1", dry_run=True, endpoint_url="http://127.0.0.1:9", out=out)
    from macaron.deploy._plan import responder

    cfg = load_deploy_config(ROOT, "mail")
    aws.responder = responder(cfg)
    said: list[str] = []
    assert ensure_tables(aws, cfg, said.append) == "tables macaron-live-mail-mails (would create 1)"
    assert [(c.service, c.operation) for c in aws.calls] == [("dynamodb", "DescribeTable"),
                                                            ("dynamodb", "CreateTable")]
    assert 'TableName: "macaron-live-mail-mails"' in out.getvalue() and "BillingMode" in out.getvalue()
    assert "arn:aws:dynamodb:us-east-1:<account-id>:table/macaron-live-mail-mails" in "\n".join(said)
