"""Every third-party package the product imports is declared in pyproject.toml."""

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from segmentation_pipeline_tests.support import REPO_ROOT

PACKAGE = REPO_ROOT / "segmentation_pipeline"


def imported_top_level_modules(package: Path) -> set[str]:
    """Top-level names of every absolute import in the package, lazy ones inside functions too."""
    modules: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_distributions() -> set[str]:
    """The dependencies and the product's optional extras (e.g. [spark]); not the dev tools."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    specs = project["dependencies"] + [
        spec for extra, group in extras.items() if extra != "dev" for spec in group
    ]
    return {normalise(re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0]) for spec in specs}


def test_every_imported_package_is_declared() -> None:
    third_party = (
        imported_top_level_modules(PACKAGE)
        - set(sys.stdlib_module_names)
        - {"segmentation_pipeline"}
    )
    assert {"dagster", "duckdb", "scipy", "joblib"} <= third_party  # the scan sees lazy imports
    distributions = packages_distributions()
    undeclared = {
        module: distributions.get(module, ["?"])
        for module in third_party
        if not any(
            normalise(name) in declared_distributions() for name in distributions.get(module, [])
        )
    }
    assert not undeclared, f"imported but not in pyproject.toml dependencies: {undeclared}"
