#!/usr/bin/env python3
"""Assemble the Cloud Functions source bundle (one bundle, deployed once per function).

    python scripts/build_bundle.py deploy/.build/bundle

Layout of the bundle (what the Python 3.11 buildpack expects, main.py at the root):

    main.py, webhooks/, orders/, bridge/, timers/, ...   everything under functions/
    shared/                                               the project's own package
    requirements.txt                                      the runtime requirements only

Tests, caches and editor droppings are left out, and nothing of the local stack (`devstack/`, where the dev clock
and reset routes live) is copied: no deployed function has a `/_dev/` route. The output directory is replaced as a
whole, so it must be empty, missing, or a bundle this script built before (it carries a marker file); anything else
is refused.
"""

from __future__ import annotations

import argparse
import fnmatch
import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MARKER = ".operatorlock-bundle"

# Names (files or directories, at any depth) that never ship.
EXCLUDED_NAMES = (
    "__pycache__",
    "*.pyc",
    "*.pyo",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".coverage",
    ".coverage.*",
    "htmlcov",
    "*.egg-info",
    ".DS_Store",
    "tests",
    "test",
    "test_*.py",
    "*_test.py",
    "conftest.py",
    ".env",
    ".env.*",
    "node_modules",
    ".venv",
)

# Requirement lines that would drag development packages (or a whole other file) into the runtime.
_FORBIDDEN_REQUIREMENT_PREFIXES = ("-r", "--requirement", "-c", "--constraint", "-e", "--editable")


class BundleError(Exception):
    """The sources or the output directory do not allow a correct bundle: fix them and run again."""


def _excluded(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in EXCLUDED_NAMES)


def _ignore(_directory: str, names: list[str]) -> set[str]:
    return {name for name in names if _excluded(name)}


def _prepare_output(out: Path, root: Path) -> None:
    resolved = out.resolve()
    if root.resolve().is_relative_to(resolved) or resolved == Path.home().resolve():
        raise BundleError(f"refusing to use {resolved} as the bundle directory: it holds the sources")
    for source in (root / "functions", root / "shared"):
        if resolved.is_relative_to(source.resolve()):
            raise BundleError(f"the bundle directory {resolved} must not be inside {source}")
    if resolved.exists():
        if not resolved.is_dir():
            raise BundleError(f"{resolved} exists and is not a directory")
        if any(resolved.iterdir()) and not (resolved / MARKER).is_file():
            raise BundleError(f"{resolved} is not empty and was not built by this script; refusing to replace it")
        shutil.rmtree(resolved)
    resolved.mkdir(parents=True)


def _runtime_requirements(path: Path) -> str:
    if not path.is_file():
        raise BundleError(f"missing {path}: the functions cannot be built without their runtime requirements")
    text = path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith(_FORBIDDEN_REQUIREMENT_PREFIXES):
            raise BundleError(f"{path}:{number}: {stripped!r} does not belong in the runtime requirements")
    return text


def build_bundle(out: Path, root: Path = REPO_ROOT) -> list[str]:
    """Write the bundle into `out` and return its files (relative POSIX paths, sorted)."""
    functions = root / "functions"
    shared = root / "shared"
    if not (functions / "main.py").is_file():
        raise BundleError(f"missing {functions / 'main.py'}: it exports the entry points of every function")
    if not (shared / "__init__.py").is_file():
        raise BundleError(f"missing {shared / '__init__.py'}: the shared package cannot be imported without it")
    for reserved in ("shared", "requirements.txt", MARKER):
        if (functions / reserved).exists():
            raise BundleError(f"{functions / reserved} would collide with the bundle's own {reserved}")
    requirements = _runtime_requirements(root / "requirements.txt")

    _prepare_output(out, root)
    (out / MARKER).write_text("built by scripts/build_bundle.py; replaced on every build\n", encoding="utf-8")
    for entry in sorted(functions.iterdir()):
        if _excluded(entry.name):
            continue
        if entry.is_dir():
            shutil.copytree(entry, out / entry.name, ignore=_ignore)
        else:
            shutil.copy2(entry, out / entry.name)
    shutil.copytree(shared, out / "shared", ignore=_ignore)
    (out / "requirements.txt").write_text(requirements, encoding="utf-8")

    return sorted(
        path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file() and path.name != MARKER
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="bundle directory (replaced), e.g. deploy/.build/bundle")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root (default: this repo)")
    parser.add_argument("--list", action="store_true", help="print every file of the bundle")
    args = parser.parse_args(argv)
    try:
        files = build_bundle(args.out, args.root)
    except BundleError as exc:
        print(f"build_bundle: {exc}", file=sys.stderr)
        return 1
    if args.list:
        print("\n".join(files))
    print(f"build_bundle: {len(files)} files in {args.out.resolve()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
