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
