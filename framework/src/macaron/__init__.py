"""macaron: spec-first Python microservices.

A service is a directory: a Swagger 2.0 spec (``api.yaml``), a config file
(``service.yaml``) and handler modules. :meth:`Service.load` reads it and
:func:`create_app` turns it into a validated Flask app.
"""

from . import store as store  # fills the core's persistence extension point (_core.plugins)
from ._core.config import Config, Secret, load_config
from ._core.context import current_service
from ._core.errors import (
    ApiError,
    BadRequest,
    ConfigError,
    Conflict,
    FieldError,
    Forbidden,
    InternalError,
    MacaronError,
    MalformedJson,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ResponseInvalid,
    ServiceUnavailable,
    SpecError,
    SpecWarning,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from ._core.models import Model, ModelRegistry
from ._core.service import Service
from ._core.spec import Operation, Spec, load_spec
from ._server.app import client_address, create_app

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "BadRequest",
    "Config",
    "ConfigError",
    "Conflict",
    "FieldError",
    "Forbidden",
    "InternalError",
    "MacaronError",
    "MalformedJson",
    "MethodNotAllowed",
    "Model",
    "ModelRegistry",
    "NotFound",
    "Operation",
    "PayloadTooLarge",
    "ResponseInvalid",
    "Secret",
    "Service",
    "ServiceUnavailable",
    "Spec",
    "SpecError",
    "SpecWarning",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "__version__",
    "client_address",
    "create_app",
    "current_service",
    "load_config",
    "load_spec",
    "models",
]


def models() -> ModelRegistry:
    """The model classes of the service handling the current request (``models().User``)."""
    return current_service().models
