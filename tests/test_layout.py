"""The package's imports run one way: no module imports one from a layer above its own.

The layers are those of ``kcolor/__init__.py``'s docstring and the README's architecture
section. Imports inside functions count too: a lazy import upwards is still a cycle in
the design.
"""

import ast
from pathlib import Path

import kcolor

PACKAGE = Path(kcolor.__file__).parent

# Lowest first. A module may import from its own layer and the layers below.
LAYERS = (
    ("kcolor.errors", "kcolor.limits", "kcolor.startup"),
    (
        "kcolor.color",
        "kcolor.images",
        "kcolor.metrics",
        "kcolor.outputs",
        "kcolor.precision",
    ),
    ("kcolor.data",),
    ("kcolor.models",),
    ("kcolor.inference",),
    ("kcolor.deploy",),
    ("kcolor.api",),
    ("kcolor.video",),
    ("kcolor.jobs", "kcolor.evaluation", "kcolor.training"),
    ("kcolor.app",),
    ("kcolor.cli",),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int | None:
    """The layer of ``module`` (a package's layer covers its submodules); None for the
    package itself."""
    for index, layer in enumerate(LAYERS):
        if any(module == name or module.startswith(name + ".") for name in layer):
            return index
    assert module == "kcolor", f"{module} is in no layer: add it to LAYERS"
    return None


def imported_modules(path: Path) -> set[str]:
    """The kcolor modules ``path`` imports, anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("kcolor"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kcolor"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                relative = Path(*submodule.split("."))
                is_module = (PACKAGE.parent / relative).with_suffix(".py").is_file() or (
                    PACKAGE.parent / relative / "__init__.py"
                ).is_file()
                found.add(submodule if is_module else node.module)
    return found


def test_every_module_is_in_a_layer_and_imports_only_downwards():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        own = layer_of(module)
        if own is None:
            continue
        for imported in imported_modules(path):
            target = layer_of(imported)
            if target is not None and target > own:
                upward.append(f"{module} imports {imported}")
    assert upward == []


def test_the_layer_check_sees_lazy_and_from_imports(tmp_path):
    """The check would fail on an upward import hidden in a function."""
    source = tmp_path / "probe.py"
    source.write_text(
        "def f():\n    from kcolor.deploy import serving\n    import kcolor.jobs\n"
        "from kcolor import api\n"
    )
    assert imported_modules(source) == {"kcolor.deploy.serving", "kcolor.jobs", "kcolor.api"}
    assert layer_of("kcolor.deploy.serving") > layer_of("kcolor.inference.colorizer")


# Inside a package, lowest first: each module imports only from its own inner layer and
# those below (the package's __init__ gathers them, and __main__ runs it: neither is in
# a layer).
INNER_LAYERS = {
    "kcolor.inference": (
        ("kcolor.inference.interface", "kcolor.inference.reading"),
        ("kcolor.inference.composing",),
        ("kcolor.inference.colorizer", "kcolor.inference.loading"),
    ),
    "kcolor.jobs": (
        ("kcolor.jobs.planning",),
        ("kcolor.jobs.run",),
        ("kcolor.jobs.photos", "kcolor.jobs.videos", "kcolor.jobs.served"),
        ("kcolor.jobs.mixed",),
    ),
    "kcolor.models.gan": (
        ("kcolor.models.gan.generator",),
        ("kcolor.models.gan.guided", "kcolor.models.gan.critic"),
        ("kcolor.models.gan.adversarial",),
    ),
    "kcolor.cli": (
        ("kcolor.cli.options",),
        tuple(
            f"kcolor.cli.{name}"
            for name in ("app", "client", "colorize", "evaluate", "export", "tfrecords", "train")
        ),
    ),
}


def test_modules_inside_a_package_import_only_downwards():
    upward = []
    for package, layers in INNER_LAYERS.items():
        level = {module: index for index, layer in enumerate(layers) for module in layer}
        folder = PACKAGE.parent.joinpath(*package.split("."))
        modules = {module_name(path) for path in folder.glob("*.py")}
        modules -= {package, f"{package}.__main__"}
        assert modules == set(level), f"{package}: put every module in INNER_LAYERS"
        for module in modules:
            path = PACKAGE.parent.joinpath(*module.split(".")).with_suffix(".py")
            for imported in imported_modules(path):
                if imported == package or level.get(imported, -1) > level[module]:
                    upward.append(f"{module} imports {imported}")
    assert upward == []


def test_the_model_kinds_stand_above_the_models_and_the_registry_below_them():
    registry = PACKAGE / "models" / "registry.py"
    # The registry names no model class: the kinds register themselves with it.
    assert imported_modules(registry) <= {"kcolor.errors"}
    for kind in ("hypercolumn_kind", "gan_kind"):
        assert "kcolor.models.registry" in imported_modules(PACKAGE / "models" / f"{kind}.py")
