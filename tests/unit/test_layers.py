"""Imports go downward only (docs/architecture.md, "The layers"): every `import` of the project's own code, at the
top of a module or inside a function, is checked against what its layer may import. Above all: the service layer
never imports the web layer (what both need, the logs and secret masking and the error hierarchy, lives below
both: `shared/logs.py`, `shared/errors.py`), and no deployed code imports the local stack or the simulator."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# The modules below every layer: they import nothing of the project.
BASE = ("shared.env", "shared.logs", "shared.errors", "shared.imports")
# What each layer may import of the project's own code, besides itself and BASE (the most specific prefix wins).
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "shared.domain": (),
    "shared.store": ("shared.domain",),
    "shared.scheduler": ("shared.store",),
    "shared.service": ("shared.domain", "shared.store", "shared.scheduler"),
    "shared.web": ("shared.domain", "shared.store", "shared.scheduler", "shared.service"),
    # the deployed functions (their source root is functions/: the groups import as `webhooks`, `orders`, ...)
    "functions": ("shared", "webhooks", "orders", "bridge", "timers"),
}
BASE_MAY_IMPORT: tuple[str, ...] = ()
OWN_ROOTS = ("shared", "functions", "devstack", "sim", "scripts", "bench", "tests",
             "main", "webhooks", "orders", "bridge", "timers")


def _module_name(path: Path) -> str:
    relative = path.relative_to(REPO).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def _imports(text: str, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, module) of every import in the source `text` of `module`, relative ones resolved."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                if node.module:
                    yield node.lineno, f"{base}.{node.module}"
                else:  # `from . import x`: x may be a module of the package
                    yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names)
            elif node.module:
                yield node.lineno, node.module


def _imports_of(path: Path) -> Iterator[tuple[int, str]]:
    return _imports(path.read_text(encoding="utf-8"), _module_name(path), path.name == "__init__.py")


def _layer(module: str) -> str | None:
    if module in BASE or any(module.startswith(f"{b}.") for b in BASE):
        return "base"
    matches = [layer for layer in MAY_IMPORT if module == layer or module.startswith(f"{layer}.")]
    return max(matches, key=len) if matches else None


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(f"{p}.") for p in prefixes)


def _violations(layer: str, label: str, imports: Iterator[tuple[int, str]]) -> list[str]:
    allowed = (layer, *BASE, *MAY_IMPORT[layer]) if layer != "base" else BASE_MAY_IMPORT
    return [f"{label}:{line} imports {imported}" for line, imported in imports
            if imported.split(".")[0] in OWN_ROOTS and not _within(imported, allowed)]


def _sources(*roots: str) -> list[Path]:
    return sorted(p for root in roots for p in (REPO / root).rglob("*.py") if "__pycache__" not in p.parts)


def _layer_of(path: Path) -> str | None:
    relative = path.relative_to(REPO)
    if relative.parts[0] == "functions":
        return "functions"
    return _layer(_module_name(path))


def test_every_shared_module_has_a_layer() -> None:
    unplaced = [str(p.relative_to(REPO)) for p in _sources("shared")
                if _layer_of(p) is None and p != REPO / "shared" / "__init__.py"]
    assert unplaced == [], f"place these in MAY_IMPORT or BASE (and in docs/architecture.md): {unplaced}"


@pytest.mark.parametrize("layer", [*MAY_IMPORT, "base"])
def test_imports_go_downward_only(layer: str) -> None:
    paths = [p for p in _sources("shared", "functions") if _layer_of(p) == layer]
    assert paths, layer
    problems = [problem for path in paths
                for problem in _violations(layer, str(path.relative_to(REPO)), _imports_of(path))]
    assert problems == [], "\n".join(problems)


def test_the_service_layer_never_imports_the_web_layer() -> None:
    """Spelled out on its own: the rule the table above encodes that a change is most likely to break."""
    problems = [f"{p.relative_to(REPO)}:{line} imports {module}" for p in _sources("shared/service")
                for line, module in _imports_of(p) if _within(module, ("shared.web",))]
    assert problems == [], "\n".join(problems)


def test_the_check_sees_a_lazy_or_relative_import_of_the_web_layer() -> None:
    """An import inside a function counts like one at the top (the service layer once imported the web layer's
    session cache lazily), and a relative one like an absolute one."""
    text = "def f():\n    from shared.web.auth import x\n    from ..web import routing\n"
    imports = _imports(text, "shared.service.probe", is_package=False)
    assert _violations("shared.service", "probe.py", imports) == [
        "probe.py:2 imports shared.web.auth", "probe.py:3 imports shared.web"]
