"""The one door to AWS: every call of the deploy goes through :meth:`AwsAdapter.call`.

That gives three things in one place: a journal of calls (tests assert the exact sequence),
``--dry-run`` (each call is checked against botocore's service model and printed, never
sent; a ``responder`` supplies the plan's assumed answers), and errors that name the call.
boto3 is imported only here and only when a client is first needed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from .._core.errors import ConfigError

SERVICES = ("sts", "s3", "elasticbeanstalk", "ssm", "secretsmanager", "autoscaling", "cloudwatch", "dynamodb")
Responder = Callable[[str, str, dict[str, Any]], dict[str, Any]]


class AwsError(Exception):
    """An AWS call failed; ``code`` is AWS's own error code (``AccessDenied``, ``404``...)."""

    def __init__(self, service: str, operation: str, code: str, message: str) -> None:
        super().__init__(f"{service}.{operation} failed: {code}: {message}")
        self.service, self.operation, self.code, self.message = service, operation, code, message


@dataclass(frozen=True)
class Call:
    service: str
    operation: str  # the API's name: CreateEnvironment
    params: Mapping[str, Any]


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "read"):
        return "<file>"
    return value


def _format(params: Mapping[str, Any], indent: str = "        ") -> str:
    """One parameter a line; lists of structures one item a line (OptionSettings stay readable)."""
    lines = []
    for key, value in _plain(params).items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append(f"{indent}{key}:")
            lines.extend(f"{indent}  {json.dumps(v, default=str)}" for v in value)
        else:
            lines.append(f"{indent}{key}: {json.dumps(value, default=str)}")
    return "".join("\n" + line for line in lines)


class AwsAdapter:
    """boto3 clients for the services of :data:`SERVICES` in one region (autoscaling and cloudwatch:
    the worker tier's scaling; dynamodb: the store's tables).

    ``endpoint_url`` (one URL, or one per service) points clients at an emulator on
    127.0.0.1 in tests; ``session`` is a ``boto3.Session`` (default: from the environment).
    """

    def __init__(
        self,
        region: str,
        *,
        dry_run: bool = False,
        session: Any = None,
        endpoint_url: str | Mapping[str, str] | None = None,
        responder: Responder | None = None,
        out: TextIO | None = None,
    ) -> None:
        self.region = region
        self.dry_run = dry_run
        self.calls: list[Call] = []
        self.responder = responder
        self._session = session
        self._endpoints = endpoint_url
        self._clients: dict[str, Any] = {}
        self._models: dict[str, Any] = {}
        self._out = out or sys.stdout

    @property
    def session(self) -> Any:
        if self._session is None:
            import boto3

            self._session = boto3.Session(region_name=self.region)
        return self._session

    def client(self, service: str) -> Any:
        """The (cached) boto3 client for ``service``; tests attach a botocore Stubber to it."""
        if service not in SERVICES:
            raise ValueError(f"the deploy does not use AWS service {service!r}")
        if service not in self._clients:
            from botocore.config import Config

            endpoint = self._endpoints.get(service) if isinstance(self._endpoints, Mapping) else self._endpoints
            self._clients[service] = self.session.client(
                service, region_name=self.region, endpoint_url=endpoint,
                config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=60),
            )
        return self._clients[service]

    def check_credentials(self) -> None:
        """Raise :class:`ConfigError` when no credentials can be found (before any call)."""
        if self.session.get_credentials() is None:
            raise ConfigError(
                "no AWS credentials found: set AWS_PROFILE (a profile in ~/.aws/config), or "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; or pass --dry-run to print the plan without AWS"
            )

    def call(self, service: str, method: str, **params: Any) -> dict[str, Any]:
        """Call ``service.method(**params)`` (snake_case method name) and return AWS's answer."""
        operation = self._operation_name(service, method)
        self.calls.append(Call(service, operation, dict(params)))
        if self.dry_run:
            self._validate(service, operation, params)
            print(f"      would call {service}.{operation}{_format(params)}", file=self._out, flush=True)
            return self.responder(service, operation, params) if self.responder else {}
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = getattr(self.client(service), method)(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise AwsError(service, operation, str(error.get("Code", "?")), str(error.get("Message", ""))) from None
        except BotoCoreError as exc:
            raise AwsError(service, operation, type(exc).__name__, str(exc)) from None
        response.pop("ResponseMetadata", None)
        return dict(response)

    def _model(self, service: str) -> Any:
        if service not in self._models:
            import botocore.session

            self._models[service] = botocore.session.get_session().get_service_model(service)
        return self._models[service]

    def _operation_name(self, service: str, method: str) -> str:
        from botocore import xform_name

        model = self._model(service)
        for name in model.operation_names:
            if xform_name(name) == method:
                return str(name)
        raise ValueError(f"{service} has no operation {method!r}")

    def _validate(self, service: str, operation: str, params: Mapping[str, Any]) -> None:
        """Check ``params`` against the service model without credentials or network."""
        from botocore.validate import ParamValidator

        shape = self._model(service).operation_model(operation).input_shape
        report = ParamValidator().validate(dict(params), shape) if shape is not None else None
        if report is not None and report.has_errors():
            raise ValueError(f"{service}.{operation}: invalid parameters: {report.generate_report()}")
