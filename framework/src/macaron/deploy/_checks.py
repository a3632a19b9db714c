"""Step 1 of a deploy: config and credentials, checked against AWS before anything is built.

In order: credentials exist, STS says whose they are (the account fills ``${account_id}``),
the Beanstalk application exists, the bucket exists and is ours to use, every secret reference
resolves (Secrets Manager ARNs are completed with their random suffix, as Beanstalk needs
them), and the platform pattern names an available Docker solution stack. Each failure is a
:class:`ConfigError` naming the value and where it is set.
"""

from __future__ import annotations

import re
from dataclasses import replace
from fnmatch import fnmatch

from .._core.errors import ConfigError
from ._aws import AwsAdapter, AwsError
from ._config import DeployConfig, load_deploy_config
from ._options import option_settings

_VERSION = re.compile(r" v(\d+(?:\.\d+)*) ")


def caller_account(aws: AwsAdapter) -> tuple[str, str]:
    """(account id, caller ARN) of the credentials in use."""
    if not aws.dry_run:
        aws.check_credentials()
    try:
        ident = aws.call("sts", "get_caller_identity")
    except AwsError as exc:
        raise ConfigError(f"the AWS credentials were refused by STS ({exc.code}: {exc.message}); "
                          f"check AWS_PROFILE / AWS_ACCESS_KEY_ID or renew the session") from None
    return str(ident["Account"]), str(ident.get("Arn", "?"))


def check_application(aws: AwsAdapter, cfg: DeployConfig) -> None:
    apps = aws.call("elasticbeanstalk", "describe_applications", ApplicationNames=[cfg.application])["Applications"]
    if not apps:
        raise ConfigError(
            f"Beanstalk application {cfg.application!r} does not exist in {cfg.region}: create it once with "
            f"'aws elasticbeanstalk create-application --application-name {cfg.application} --region {cfg.region}', "
            f"or set 'application:' in {cfg.source}")


def check_bucket(aws: AwsAdapter, cfg: DeployConfig) -> None:
    try:
        aws.call("s3", "head_bucket", Bucket=cfg.bucket)
    except AwsError as exc:
        if exc.code in ("404", "NoSuchBucket", "NotFound"):
            raise ConfigError(f"S3 bucket {cfg.bucket!r} does not exist: create it in {cfg.region}, or set 'bucket:' "
                              f"in {cfg.source}") from None
        if exc.code in ("403", "AccessDenied", "Forbidden"):
            raise ConfigError(f"S3 bucket {cfg.bucket!r} exists but these credentials may not use it (403); "
                              f"grant s3:PutObject/GetObject on it, or set another 'bucket:' in {cfg.source}") from None
        raise


def ssm_name(arn: str) -> str:
    """The parameter name in an SSM ARN (hierarchical names keep their leading '/')."""
    rest = arn.split(":parameter/", 1)[1]
    return "/" + rest if "/" in rest else rest


def resolve_secrets(aws: AwsAdapter, cfg: DeployConfig) -> dict[str, str]:
    """Each secret reference checked to exist; Secrets Manager ARNs completed. Values are never read."""
    out: dict[str, str] = {}
    for var, arn in cfg.secrets.items():
        if ":secretsmanager:" in arn:
            secret_id, _, json_key = arn.partition(":secret:")[2].partition(":")
            base = arn.split(":secret:")[0] + ":secret:" + secret_id
            try:
                full = str(aws.call("secretsmanager", "describe_secret", SecretId=base)["ARN"])
            except AwsError as exc:
                raise ConfigError(f"secret {var}: {base} cannot be found ({exc.code}); create it in Secrets Manager, "
                                  f"or point {var} elsewhere under 'secrets:' in {cfg.source}") from None
            out[var] = full + (f":{json_key}" if json_key else "")
        else:
            name = ssm_name(arn)
            found = aws.call("ssm", "describe_parameters",
                             ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}])["Parameters"]
            if not found:
                raise ConfigError(f"secret {var}: SSM parameter {name} does not exist in {cfg.region}; create it "
                                  f"(SecureString), or point {var} elsewhere under 'secrets:' in {cfg.source}")
            out[var] = arn
    return out


def resolve_platform(aws: AwsAdapter, pattern: str) -> str:
    """``pattern`` itself (a solution stack name or a platform ARN), or the newest available
    solution stack matching it (``*`` wildcards)."""
    if "*" not in pattern:
        return pattern
    stacks = aws.call("elasticbeanstalk", "list_available_solution_stacks").get("SolutionStacks", [])
    if aws.dry_run:
        return f"<newest solution stack matching {pattern!r}>"
    matching = [s for s in stacks if fnmatch(s, pattern)]
    if not matching:
        raise ConfigError(f"no available Beanstalk solution stack matches platform {pattern!r}")

    def version(stack: str) -> tuple[int, ...]:
        found = _VERSION.search(stack)
        return tuple(int(p) for p in found.group(1).split(".")) if found else ()

    return str(max(matching, key=version))


def check_all(aws: AwsAdapter, cfg: DeployConfig) -> tuple[DeployConfig, str]:
    """``cfg`` with the account filled in and references resolved; and a one-line description."""
    account, caller = caller_account(aws)
    cfg = load_deploy_config(cfg.root, cfg.service, cfg.env, account_id=account)
    check_application(aws, cfg)
    check_bucket(aws, cfg)
    cfg = replace(cfg, secrets=resolve_secrets(aws, cfg), platform=resolve_platform(aws, cfg.platform))
    option_settings(cfg, "check")  # every beanstalk.yaml value is mapped before anything is built
    if aws.dry_run and aws.session.get_credentials() is None:
        caller += "; no AWS credentials were found, so the plan assumes this account"
    line = (f"account {account} ({caller}), application {cfg.application} in {cfg.region}, bucket {cfg.bucket}, "
            f"{len(cfg.secrets)} secret reference(s), platform {cfg.platform}")
    return cfg, line
