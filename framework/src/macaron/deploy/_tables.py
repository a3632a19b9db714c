"""A service's DynamoDB tables and the IAM policy its instances need, generated from its spec.

Every definition marked ``x-persist`` in the service's spec is one table,
``<table_prefix><table>``, the prefix being ``MACARON_STORE__TABLE_PREFIX`` of ``beanstalk.yaml``
(``${application}-${env}-${service}-``). Step 1 of a deploy describes each and creates what is
missing with the very request the store would send on first use
(:func:`macaron.store._dynamo.create_table_params`), then waits until it is ACTIVE; so the
instances never create tables and their role needs no ``CreateTable``. The step prints the
policy the instance profile needs for exactly these tables:

* ``DescribeTable`` (the store checks a table once per process), ``GetItem``, ``PutItem``,
  ``DeleteItem`` on the tables (``TransactWriteItems`` is authorised per item it contains: the
  store's hold Puts and Deletes with conditions);
* ``Query`` on their ``by_<field>`` indexes (``find_all_by`` on a non-unique index);
* with a worker tier, ``cloudwatch:PutMetricData`` in its metrics namespace only (the queue metrics).

Only a service whose ``service.yaml`` has a ``store:`` section and whose deploy sets the backend
to DynamoDB has tables here (elsewhere the environment cannot switch its store, docs/store.md).
"""

from __future__ import annotations

import json
from typing import Any

from .._core.config import _read_yaml, env_key
from .._core.spec import load_spec
from ..store._binding import table_spec
from ..store._dynamo import create_table_params
from ..store._open import default_prefix
from ._aws import AwsAdapter, AwsError
from ._config import DeployConfig
from ._workers import worker_tier

ITEM_ACTIONS = ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]


def _setting(cfg: DeployConfig, key: str) -> str | None:
    for var in (f"MACARON_{env_key(cfg.service)}_STORE__{key}", f"MACARON_STORE__{key}"):
        if var in cfg.env_vars:
            return cfg.env_vars[var]
    return None


def persisted_tables(cfg: DeployConfig) -> list[tuple[str, Any]]:
    """``(table name, TableSpec)`` of every ``x-persist`` model, when the deploy puts the store on DynamoDB."""
    store = _read_yaml(cfg.service_dir / "service.yaml").get("store")  # no secrets needed to read it
    if not isinstance(store, dict) or (_setting(cfg, "BACKEND") or store.get("backend")) != "dynamodb":
        return []
    prefix = _setting(cfg, "TABLE_PREFIX") or store.get("table_prefix") or default_prefix(cfg.env, cfg.service)
    definitions = load_spec(cfg.service_dir / "api.yaml").document.get("definitions") or {}
    specs = [table_spec(name, definitions) for name, body in sorted(definitions.items()) if "x-persist" in body]
    return [(f"{prefix}{spec.table}", spec) for spec in specs]


def instance_policy(cfg: DeployConfig, tables: list[tuple[str, Any]], account: str,
                    metrics_namespace: str | None = None) -> dict[str, Any]:
    """The IAM policy the service's instances need for its tables (and its queue metrics)."""
    arn = f"arn:aws:dynamodb:{cfg.region}:{account}:table/"
    statements: list[dict[str, Any]] = [{"Sid": "StoreItems", "Effect": "Allow", "Action": ITEM_ACTIONS,
                                         "Resource": [arn + name for name, _ in tables]}] if tables else []
    indexed = [arn + f"{name}/index/by_{i.field}" for name, spec in tables for i in spec.indexes if not i.unique]
    if indexed:
        statements.append({"Sid": "StoreLookups", "Effect": "Allow", "Action": ["dynamodb:Query"],
                           "Resource": indexed})
    if metrics_namespace:
        statements.append({"Sid": "QueueMetrics", "Effect": "Allow", "Action": ["cloudwatch:PutMetricData"],
                           "Resource": "*", "Condition": {"StringEquals": {"cloudwatch:namespace": metrics_namespace}}})
    return {"Version": "2012-10-17", "Statement": statements}


def ensure_tables(aws: AwsAdapter, cfg: DeployConfig, say: Any, clock: Any = None) -> str:
    """Create the service's missing tables (and wait until ACTIVE); print its instance policy; the step's detail."""
    tables = persisted_tables(cfg)
    tier = worker_tier(cfg)
    if not tables and tier is None:
        return ""
    created = []
    for name, spec in tables:
        try:
            found = aws.call("dynamodb", "describe_table", TableName=name).get("Table")
        except AwsError as exc:
            if exc.code != "ResourceNotFoundException":
                raise
            found = None
        if not found:
            aws.call("dynamodb", "create_table", **create_table_params(name, spec),
                     Tags=[{"Key": "macaron:service", "Value": cfg.service}, {"Key": "macaron:env", "Value": cfg.env}])
            created.append(name)
    if created and not aws.dry_run and clock is not None:
        for name in created:
            for _ in range(120):
                if aws.call("dynamodb", "describe_table", TableName=name)["Table"].get("TableStatus") == "ACTIVE":
                    break
                clock.sleep(2)
    say(f"the instance profile needs, for {cfg.service}'s store (generated from x-persist in its spec)"
        + (" and queue metrics:" if tier else ":"))
    policy = instance_policy(cfg, tables, cfg.account_id, tier.namespace if tier else None)
    for line in json.dumps(policy, indent=2).splitlines():
        say("  " + line)
    if not tables:
        return ""
    names = ", ".join(name for name, _ in tables)
    verb = "would create" if aws.dry_run else "created"
    return f"tables {names}" + (f" ({verb} {len(created)})" if created else " (all exist)")
