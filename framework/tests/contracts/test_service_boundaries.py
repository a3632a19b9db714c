"""No framework code lives in a service directory, and a service imports only what it may:
the standard library, ``macaron``'s public modules, its own modules (relatively), and what its
``requirements.txt`` declares (``pytest`` too, in its tests). Every ``services/*/**/*.py`` is read
with ``ast``; nothing is imported or run. This is what keeps a copied directory a service of its own.
"""

from __future__ import annotations

import ast
import hashlib
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import macaron
import pytest

ROOT = Path(__file__).resolve().parents[3]
#: Exactly what service code may import of the framework (and the names ``macaron`` exports).
PUBLIC_MODULES = {"macaron", "macaron.auth", "macaron.clients", "macaron.tasks", "macaron.store", "macaron.testing"}
FRAMEWORK = ROOT / "framework" / "src" / "macaron"


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(service: Path) -> set[str]:
    """Normalized distribution names in the service's requirements.txt."""
    path = service / "requirements.txt"
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    return {_normal(m[0]) for line in lines if (m := re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line))}


def framework_digests() -> set[str]:
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in FRAMEWORK.rglob("*.py") if p.stat().st_size > 200}


def _absolute(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level or node.module is None:
        return []
    return [node.module] + [f"{node.module}.{a.name}" for a in node.names if node.module == "macaron"]


def problems(service: Path, digests: set[str] | None = None) -> list[str]:
    """Every way the service in ``service`` breaks the rule, as ``path:line: what``."""
    digests = framework_digests() if digests is None else digests
    allowed = declared(service)
    dists = packages_distributions()
    found: list[str] = []
    for path in sorted(service.rglob("*.py")):
        rel = path.relative_to(service)
        where = f"{service.name}/{rel.as_posix()}"
        if {"macaron", "macaron_services", "framework"} & set(rel.parts[:-1]) or rel.stem == "macaron":
            found.append(f"{where}: framework code in a service directory")
        if hashlib.sha256(path.read_bytes()).hexdigest() in digests:
            found.append(f"{where}: a copy of a framework module")
        depth = len(rel.parts) - 1
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            line = f"{where}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", "") == "sys":
                found.append(f"{line}: changes sys.path (import through the service's package instead)")
            if isinstance(node, ast.ImportFrom) and node.level > depth + 1:
                found.append(f"{line}: a relative import reaching outside the service directory")
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for name in _absolute(node):
                top = name.split(".")[0]
                if top == "macaron":
                    if any(part.startswith("_") for part in name.split(".")[1:]):
                        found.append(f"{line}: imports {name}, a private framework module (use macaron's public API)")
                    elif name not in PUBLIC_MODULES and name.removeprefix("macaron.") not in macaron.__all__:
                        found.append(f"{line}: imports {name}, not one of macaron's public modules "
                                     f"({', '.join(sorted(PUBLIC_MODULES))})")
                elif top in sys.stdlib_module_names or (top == "pytest" and rel.parts[0] == "tests"):
                    continue
                elif not {_normal(d) for d in dists.get(top, [])} & allowed:
                    found.append(f"{line}: imports {name}, neither macaron, its own modules (import them "
                                 f"relatively) nor a package declared in {service.name}/requirements.txt")
    return found


SERVICES = sorted(p.parent for p in (ROOT / "services").glob("*/service.yaml"))


@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
def test_each_service_imports_only_macaron_its_own_modules_and_its_requirements(service: Path) -> None:
    assert problems(service) == []


def test_the_check_finds_every_kind_of_breach(tmp_path: Path) -> None:
    service = tmp_path / "billing"
    (service / "tests").mkdir(parents=True)
    (service / "macaron").mkdir()
    (service / "requirements.txt").write_text("PyYAML~=6.0  # templates\n")
    (service / "macaron" / "helpers.py").write_text("X = 1\n")
    (service / "handlers.py").write_text(
        "import sys\nimport yaml\nfrom macaron import models\nfrom macaron.testing import Api\n"
        "from macaron._core.config import load_config\nfrom macaron import _errors\nimport requests\n"
        "from services.mail import tasks\nfrom ..mail import rendering\nfrom . import helpers\n"
        "sys.path.insert(0, '/work/main/services')\nfrom macaron.deploy import Pipeline\n")
    (service / "tests" / "test_x.py").write_text("import pytest\nimport json\n")
    (service / "copied.py").write_bytes((FRAMEWORK / "_core" / "config.py").read_bytes())
    found = "\n".join(problems(service))
    assert "billing/macaron/helpers.py: framework code in a service directory" in found
    assert "billing/copied.py: a copy of a framework module" in found
    assert "handlers.py:5: imports macaron._core.config, a private framework module" in found
    assert "handlers.py:6: imports macaron._errors, a private" in found
    assert "handlers.py:7: imports requests, neither macaron" in found
    assert "handlers.py:8: imports services.mail, neither" in found
    assert "handlers.py:9: a relative import reaching outside the service directory" in found
    assert "handlers.py:11: changes sys.path" in found
    assert "handlers.py:12: imports macaron.deploy, not one of macaron's public modules" in found
    for fine in ("handlers.py:1:", "handlers.py:2:", "handlers.py:3:", "handlers.py:4:", "handlers.py:10:", "test_x"):
        assert fine not in found, found
