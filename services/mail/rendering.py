"""Mail templates: versioned files ``templates/<name>.v<N>.yaml``; the highest N is used.

Placeholders are ``$name`` (``string.Template``: no attribute or index access, so data
cannot reach into Python objects). Values are HTML-escaped in the html part, and line
breaks are removed from the subject so data cannot add mail headers.
"""

from __future__ import annotations

import html
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from macaron import ApiError, FieldError, ValidationFailed

_FILE = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)\.v(?P<version>\d+)\.yaml$")


class UnknownTemplate(ApiError):
    status, code, title = 400, "UNKNOWN_TEMPLATE", "Unknown Template"


@dataclass(frozen=True)
class Template:
    name: str
    version: int
    subject: str
    text: str
    html: str
    required: tuple[str, ...]


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def load_templates(directory: Path) -> dict[str, Template]:
    """The newest version of every template in ``directory``."""
    found: dict[str, Template] = {}
    for path in sorted(directory.glob("*.v*.yaml")):
        match = _FILE.match(path.name)
        if not match:
            continue
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        template = Template(
            name=match["name"], version=int(match["version"]), subject=str(doc["subject"]),
            text=str(doc["text"]), html=str(doc["html"]), required=tuple(doc.get("required") or ()),
        )
        if template.name not in found or template.version > found[template.name].version:
            found[template.name] = template
    return found


def pick(templates: dict[str, Template], name: str) -> Template:
    try:
        return templates[name]
    except KeyError:
        raise UnknownTemplate(f"no template named {name!r}; known: {', '.join(sorted(templates))}",
                              errors=[FieldError("/body/template", "is not a known template")]) from None


def check_data(template: Template, data: dict[str, Any]) -> None:
    """Raise ValidationFailed naming every placeholder the data lacks."""
    missing = [key for key in template.required if key not in data]
    if missing:
        errors = [FieldError(f"/body/data/{key}", "is required by the template") for key in missing]
        raise ValidationFailed(f"template {template.name!r} needs {', '.join(missing)}", errors=errors)


def render(template: Template, data: dict[str, Any]) -> Rendered:
    plain = {k: str(v) for k, v in data.items()}
    escaped = {k: html.escape(v) for k, v in plain.items()}
    subject = string.Template(template.subject).safe_substitute(plain)
    return Rendered(
        subject=" ".join(subject.split()),
        text=string.Template(template.text).safe_substitute(plain),
        html=string.Template(template.html).safe_substitute(escaped),
    )
