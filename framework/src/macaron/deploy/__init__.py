"""``macaron.deploy``: a test-gated blue/green deploy of one service to AWS Elastic Beanstalk.

Modules, in the order a deploy uses them: :mod:`.config` (``infra/`` and ``beanstalk.yaml``),
:mod:`.checks` (config and credentials against AWS), :mod:`.acceptance` (the service's tests),
:mod:`.bundle` and :mod:`.compose` (the reproducible zip), :mod:`.smoke` (the zip served
locally), :mod:`.options` (Beanstalk option settings), :mod:`.environments` and
:mod:`.waiting` (blue/green bookkeeping, polling with events), :mod:`.pipeline` and
:mod:`.rollback` (the steps and their undos), :mod:`.report` (what is printed), :mod:`.aws`
(the one adapter every AWS call goes through; ``--dry-run`` prints instead), :mod:`.plan`
(what a dry run assumes), :mod:`.cli`. Nothing here is imported by ``macaron serve``.

Rule: may import everything below it (the runtime packages, ``_local``, ``testing``); only
``_cli`` imports it. AWS only through ``_aws.AwsAdapter``.
"""

from ._aws import AwsAdapter, AwsError
from ._bundle import Bundle, build_bundle
from ._config import DeployConfig, load_deploy_config
from ._pipeline import Options, Pipeline

__all__ = ["AwsAdapter", "AwsError", "Bundle", "DeployConfig", "Options", "Pipeline", "build_bundle",
           "load_deploy_config"]
