"""One direction of flow: every import of the package and of the tests, read with `ast`.

- `lib/` is plain Python: it never imports Dagster, `defs/`, the CLI or the definitions. Its
  stages follow the data (ingest < sample < features < quality < model < segments < reporting):
  a stage imports only itself, earlier stages and the leaves. `lib/plots.py` imports nothing of
  ours; the other leaves (`lib/warehouse.py`, `lib/spark/`) only settings and glossary.
- `defs/` holds the Dagster definitions, by stage in the same order: a stage imports `lib`,
  the leaves and earlier `defs` stages only.
- Tests import helpers from `segmentation_pipeline_tests.support` (or a helper module beside
  them), never another test module or a conftest.
"""

import ast
from pathlib import Path

import pytest

from segmentation_pipeline_tests.support import REPO_ROOT

PACKAGE = "segmentation_pipeline"
TESTS = "segmentation_pipeline_tests"
LIB_STAGES = ["ingest", "sample", "features", "quality", "model", "segments", "reporting"]
DEFS_STAGES = [
    "load_time",
    "resources",
    "partitions",
    "metadata",
    "check_results",
    "ingest",
    "features",
    "model",
    "segments",
    "reporting",
    "publishing",
    "automation",
    "spark",
]
# Modules every layer may import: constants and column meanings, themselves importing nothing.
SHARED_LEAVES = {"settings", "glossary"}
LIB_LEAVES = {"plots", "warehouse", "spark"}
# Entry points: they assemble everything, and nothing below them imports them.
ENTRY_POINTS = {"definitions", "cli", "cli_runs", "progress", "__main__"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(module: str, source: str, is_package: bool = False) -> set[str]:
    """Every module `source` imports (at any depth, lazy imports included), absolute."""
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + is_package]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            imported.add(name)
            # `from package import module` imports the module.
            imported.update(f"{name}.{alias.name}" for alias in node.names)
    return imported


def ours(modules: set[str], root: str) -> set[str]:
    return {name for name in modules if name == root or name.startswith(root + ".")}


def layer_and_stage(module: str) -> tuple[str, str]:
    """('lib', 'model') for segmentation_pipeline.lib.model.training, ('top', 'settings')..."""
    parts = module.split(".")[1:]
    if not parts:
        return "top", ""
    if parts[0] in ("lib", "defs"):
        return parts[0], parts[1] if len(parts) > 1 else ""
    return "top", parts[0]


def may_import(importer: tuple[str, str], imported: tuple[str, str]) -> bool:
    """Whether a module at (layer, stage) `importer` may import one at `imported`."""
    (layer, stage), (target_layer, target) = importer, imported
    if stage == "":
        return False  # a layer's own __init__ only documents it
    if layer == "top":
        return stage not in SHARED_LEAVES  # entry points assemble everything; leaves nothing
    if (layer, stage) == ("lib", "plots"):
        return False
    if target_layer == "top":
        return target in SHARED_LEAVES
    if layer == "lib":
        if target_layer != "lib":
            return False
        if stage in LIB_LEAVES:
            return target == stage
        if target in LIB_LEAVES:
            return True
        return LIB_STAGES.index(target) <= LIB_STAGES.index(stage)
    # defs: any logic, and the definitions of its own or earlier stages
    return target_layer == "lib" or DEFS_STAGES.index(target) <= DEFS_STAGES.index(stage)


def violations(module: str, imports: set[str]) -> list[str]:
    """The imports of package module `module` that go against the layering."""
    importer = layer_and_stage(module)
    found = []
    if importer[0] == "lib" or importer[1] in SHARED_LEAVES:
        found += [name for name in imports if name.split(".")[0].startswith("dagster")]
    for name in ours(imports, PACKAGE):
        if name in (PACKAGE, f"{PACKAGE}.lib", f"{PACKAGE}.defs") and importer[1]:
            continue  # the package itself (`from segmentation_pipeline.lib import plots`)
        if not may_import(importer, layer_and_stage(name)):
            found.append(name)
    return sorted(found)


def package_modules() -> list[Path]:
    return sorted((REPO_ROOT / PACKAGE).rglob("*.py"))


def test_every_package_module_has_a_known_place() -> None:
    for path in package_modules():
        layer, stage = layer_and_stage(module_name(path))
        known = {
            "lib": {"", *LIB_STAGES, *LIB_LEAVES},
            "defs": {"", *DEFS_STAGES},
            "top": {"", *SHARED_LEAVES, *ENTRY_POINTS},
        }[layer]
        assert stage in known, f"{path}: place {layer}/{stage} missing from test_architecture"


@pytest.mark.parametrize(
    "path", package_modules(), ids=lambda path: str(path.relative_to(REPO_ROOT))
)
def test_imports_follow_the_data_downward(path: Path) -> None:
    module = module_name(path)
    imports = imported_modules(module, path.read_text(), path.name == "__init__.py")
    assert violations(module, imports) == []


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("segmentation_pipeline.lib.ingest.loader", "import dagster as dg"),
        ("segmentation_pipeline.lib.model.training", "from segmentation_pipeline.defs import x"),
        ("segmentation_pipeline.lib.ingest.loader", "from ..model.training import fit_model"),
        ("segmentation_pipeline.lib.plots", "from segmentation_pipeline.settings import X"),
        ("segmentation_pipeline.lib.warehouse", "from segmentation_pipeline.lib.model import x"),
        ("segmentation_pipeline.lib.segments.scoring", "from segmentation_pipeline import cli"),
        ("segmentation_pipeline.defs.model.assets", "from ..segments.assets import x"),
        ("segmentation_pipeline.defs.resources", "from segmentation_pipeline import definitions"),
        ("segmentation_pipeline.settings", "from segmentation_pipeline.lib import plots"),
    ],
)
def test_an_upward_import_is_caught(module: str, source: str) -> None:
    assert violations(module, imported_modules(module, source))


def test_no_test_module_imports_another_test_module_or_a_conftest() -> None:
    for path in sorted((REPO_ROOT / TESTS).rglob("*.py")):
        module = module_name(path)
        imports = imported_modules(module, path.read_text(), path.name == "__init__.py")
        imported_tests = [
            name
            for name in ours(imports, TESTS)
            if any(part.startswith("test_") or part == "conftest" for part in name.split("."))
        ]
        assert imported_tests == [], f"{path} imports {imported_tests}"
