"""Deploy configuration: ``beanstalk.yaml`` and the infra files of one service.

``infra/<service>/`` overrides ``infra/defaults/`` file by file; ``beanstalk.yaml`` is merged
key by key instead (a service states only what differs), then its ``environments.<env>``
section on top. Strings may use ``${service}``, ``${env}``, ``${application}``, ``${region}``
and ``${account_id}`` (the caller's account, known once STS has answered). Secrets are
references (Secrets Manager / SSM Parameter Store ARNs), never values: a declared service
secret without a reference, or a secret given as a plain value, stops the deploy here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from .._core.config import _merge, _read_yaml, env_key
from .._core.errors import ConfigError
from ._needs import secret_vars, sibling_clients

ENVS = ("live", "staging")
UNKNOWN_ACCOUNT = "<account-id>"
_ARN = re.compile(r"arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[^:]+:secret:[^:\s]+(:[^:\s]+)?"
                  r"|ssm:[a-z0-9-]+:[^:]+:parameter/\S+)\Z")
_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{2,38}[A-Za-z0-9]\Z")
_CNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]\Z")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d\Z")
BLUE_GREEN_SUFFIX = 9  # "-" + 8 hex digits of the version's content hash


def known_services(root: Path) -> list[str]:
    return sorted(p.parent.name for p in (root / "services").glob("*/service.yaml"))


def infra_dirs(root: Path, service: str) -> list[Path]:
    """Where infra files are looked up, most specific first."""
    return [d for d in (root / "infra" / service, root / "infra" / "defaults") if d.is_dir()]


def infra_files(root: Path, service: str) -> dict[str, Path]:
    """Every infra file by its path relative to the infra folder; the service's own win."""
    found: dict[str, Path] = {}
    for directory in reversed(infra_dirs(root, service)):
        for path in sorted(directory.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                found[path.relative_to(directory).as_posix()] = path
    return found


@dataclass(frozen=True)
class DeployConfig:
    """Everything the pipeline needs to know about one service's deploy to one environment."""

    root: Path
    service: str
    env: str
    application: str
    region: str
    bucket: str
    platform: str
    environment: str  # staging: the environment's name; live: the prefix of blue/green names
    cname: str  # the CNAME prefix that *is* the environment (live: swapped between blue and green)
    settings: Mapping[str, Any]  # the merged beanstalk.yaml, variables substituted
    env_vars: Mapping[str, str]
    secrets: Mapping[str, str]  # VAR -> ARN
    files: Mapping[str, Path]  # infra files by relative path
    account_id: str = UNKNOWN_ACCOUNT  # the deploying credentials' account, once STS has answered

    @property
    def service_dir(self) -> Path:
        return self.root / "services" / self.service

    @property
    def blue_green(self) -> bool:
        return self.env == "live"

    def env_name(self, version_label: str) -> str:
        """The Beanstalk environment a version runs in (live: one per version, for blue/green)."""
        if not self.blue_green:
            return self.environment
        return f"{self.environment}-{hashlib.sha256(version_label.encode()).hexdigest()[:8]}"

    def number(self, *keys: str, default: float | None = None) -> float:
        node: Any = self.settings
        for key in keys:
            node = node.get(key) if isinstance(node, Mapping) else None
        if node is None and default is not None:
            return default
        try:
            return float(node)
        except (TypeError, ValueError):
            raise ConfigError(f"{self.source}: '{'.'.join(keys)}' must be a number, got {node!r}") from None

    @property
    def source(self) -> str:
        files = [str(d / "beanstalk.yaml") for d in infra_dirs(self.root, self.service)
                 if (d / "beanstalk.yaml").is_file()]
        return " + ".join(files) or str(self.root / "infra")


def _substitute(node: Any, variables: Mapping[str, str], where: str) -> Any:
    if isinstance(node, str):
        try:
            return Template(node).substitute(variables)
        except KeyError as exc:
            raise ConfigError(f"{where}: unknown variable ${{{exc.args[0]}}} in {node!r} "
                              f"(known: {', '.join(sorted(variables))})") from None
        except ValueError:
            raise ConfigError(f"{where}: bad '$' in {node!r} (write $$ for a literal dollar sign)") from None
    if isinstance(node, Mapping):
        return {k: _substitute(v, variables, f"{where}.{k}") for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, variables, f"{where}[{i}]") for i, v in enumerate(node)]
    return node


def _check(value: str, pattern: re.Pattern[str], what: str, where: str, hint: str) -> str:
    if "<" not in value and not pattern.match(value):
        raise ConfigError(f"{where}: {what} {value!r} is not valid ({hint})")
    return value


def load_deploy_config(
    root: Path, service: str, env: str = "live", *, account_id: str = UNKNOWN_ACCOUNT
) -> DeployConfig:
    """Resolve ``service``'s deploy settings for ``env``; raise :class:`ConfigError` naming what is wrong."""
    root = root.resolve()
    if not (root / "services" / service / "service.yaml").is_file():
        known = ", ".join(known_services(root)) or "none"
        raise ConfigError(f"unknown service {service!r}: no {root / 'services' / service / 'service.yaml'} "
                          f"(services here: {known})")
    if env not in ENVS:
        raise ConfigError(f"unknown environment {env!r}: use one of {', '.join(ENVS)}")
    data: dict[str, Any] = {}
    for directory in reversed(infra_dirs(root, service)):
        if (directory / "beanstalk.yaml").is_file():
            data = _merge(data, _read_yaml(directory / "beanstalk.yaml"))
    if not data:
        raise ConfigError(f"no beanstalk.yaml in {root / 'infra' / service} or {root / 'infra' / 'defaults'}")
    data = _merge(data, (data.pop("environments", None) or {}).get(env) or {})
    where = " + ".join(str(d / "beanstalk.yaml") for d in infra_dirs(root, service))
    for key in ("application", "region", "platform", "environment", "cname", "bucket"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ConfigError(f"{where}: '{key}' is required (a string)")
    variables = {"service": service, "env": env}
    variables["application"] = _substitute(data["application"], variables, f"{where}: application")
    variables["region"] = _substitute(data["region"], variables, f"{where}: region")
    variables["account_id"] = account_id
    secret_arn, sibling_url = data.pop("secret_arn", None), data.pop("sibling_url", None)
    data = _substitute(data, variables, where)
    _check(data["region"], _REGION, "region", where, "e.g. us-east-1")
    _check(data["bucket"], _BUCKET, "bucket", where, "an S3 bucket name")
    _check(data["cname"], _CNAME, "cname", where, "letters, digits and hyphens, 4-63 characters")
    longest = data["environment"] + ("-12345678" if env == "live" else "")
    _check(longest, _ENV_NAME, "environment name", where,
           "letters, digits and hyphens, 4-40 characters including the 9-character version suffix on live")
    env_vars = {str(k): "" if v is None else str(v) for k, v in (data.get("env") or {}).items()}
    secrets = {str(k): str(v) for k, v in (data.get("secrets") or {}).items()}
    for name in sibling_clients(root / "services" / service, env):  # where the siblings it calls are live
        var = f"MACARON_CLIENTS__{env_key(name)}__URL"
        if sibling_url and var not in env_vars:
            env_vars[var] = _substitute(sibling_url, {**variables, "name": name}, f"{where}: sibling_url")
    required, _optional = secret_vars(root / "services" / service, env)
    for var in required:
        if var in env_vars:
            raise ConfigError(f"{where}: {var} is a secret of service {service!r}: give it by reference under "
                              f"'secrets:' (a Secrets Manager or SSM ARN), never as a plain value under 'env:'")
        if var not in secrets:
            if not secret_arn:
                raise ConfigError(f"{where}: service {service!r} needs the secret {var}: add "
                                  f"'secrets: {{{var}: <Secrets Manager or SSM ARN>}}'")
            secrets[var] = _substitute(secret_arn, {**variables, "name": var}, f"{where}: secret_arn")
    for var, arn in secrets.items():
        _check(var, _VAR, "secret variable name", where, "letters, digits and '_'")
        if var in env_vars:
            raise ConfigError(f"{where}: {var} is both a plain variable ('env:') and a secret ('secrets:')")
        _check(arn, _ARN, f"reference of secret {var}", where,
               "a Secrets Manager ARN arn:aws:secretsmanager:... or an SSM ARN arn:aws:ssm:...:parameter/...")
    for var in env_vars:
        _check(var, _VAR, "variable name", where, "letters, digits and '_'")
    return DeployConfig(
        root=root, service=service, env=env, application=data["application"], region=data["region"],
        bucket=data["bucket"], platform=data["platform"], environment=data["environment"], cname=data["cname"],
        settings=data, env_vars=env_vars, secrets=secrets, files=infra_files(root, service), account_id=account_id,
    )
