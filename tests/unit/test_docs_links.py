"""Every reference a reader may follow resolves inside the repository (docs/README.md, "How code cites these
documents").

- `D19` in any tracked source, test or document resolves to a heading starting `D19.` in docs/decisions.md;
- `§7.3` to a heading starting `§7.3` in docs/original-rules.md (`§7` does not match a `§7.3` heading);
- `issue 15`, `issues 7, 8 and 15` to headings starting `Issue 15.` in docs/history.md;
- `docs/<file>.md` (optionally `#anchor`) named anywhere to an existing document (and heading);
- no text points at documents that are not in the repository (the original specification's file names);
- every relative Markdown link in README.md and docs/ to an existing file, and its `#anchor` to a heading there.

Each failure names the file, the line and the reference. Fix it by adding the heading or correcting the
reference, not by skipping the file.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"

SOURCE_SUFFIXES = {".py", ".js", ".html", ".css", ".tf", ".md", ".sh", ".toml", ".txt", ".example", ".rules"}
SOURCE_NAMES = {"Makefile", "run"}  # .ci/run
SKIP_DIRS = {".git", ".venv", "node_modules", ".local", "__pycache__", ".pytest_cache", ".mypy_cache",
             ".ruff_cache"}

DECISION = re.compile(r"\bD(\d{1,2})\b")
SECTION = re.compile(r"§\s?(\d+(?:\.\d+)*)")
ISSUE = re.compile(r"\b[Ii]ssues? (\d+(?:(?:, and |, | and )\d+)*)\b")
DOC_PATH = re.compile(r"\bdocs/([\w./-]+\.md)(#[\w-]+)?")
# The original specification and design notes live outside the repository: naming them leads nowhere.
OUTSIDE = re.compile(r"\b(?:behavior\.md|design\.md|api-reference\.txt|platform-notes\.md|style\.md)\b|\.\./shared\b")
BARE_DECISIONS = re.compile(r"(?<![\w/])decisions\.md")  # outside docs/ it must say docs/decisions.md
MD_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def tracked_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=30)
        names = [n for n in out.stdout.decode().split("\0") if n]
        paths = [REPO / n for n in names]
    except (OSError, subprocess.SubprocessError):  # no git (an exported tree): walk it instead
        paths = [p for p in REPO.rglob("*") if not SKIP_DIRS & set(p.relative_to(REPO).parts)]
    # documents added in this working tree but not yet committed count too
    paths += [p for p in DOCS.glob("*.md") if p not in paths]
    return sorted(p for p in paths if p.is_file() and (p.suffix in SOURCE_SUFFIXES or p.name in SOURCE_NAMES))


def lines_of(path: Path) -> Iterator[tuple[int, str]]:
    text = path.read_text(encoding="utf-8", errors="replace")
    yield from enumerate(text.splitlines(), start=1)


@cache
def headings(path: Path) -> tuple[str, ...]:
    """The text of every Markdown heading in `path`, outside fenced code blocks."""
    found: list[str] = []
    fenced = False
    for _, line in lines_of(path):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = None if fenced else HEADING.match(line)
        if match:
            found.append(match.group(2))
    return tuple(found)


def slug(text: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation and symbols dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    out: set[str] = set()
    for text in headings(path):
        base = slug(text)
        n = seen.get(base, 0)
        out.add(base if n == 0 else f"{base}-{n}")
        seen[base] = n + 1
    return frozenset(out)


def heading_starts(path: Path, prefix: str) -> bool:
    """A heading starts with `prefix` followed by neither a digit nor `.digit` (so `§7` is not `§7.3`)."""
    for text in headings(path):
        if text.startswith(prefix):
            rest = text[len(prefix):]
            if not rest[:1].isdigit() and not re.match(r"\.\d", rest):
                return True
    return False


def references(path: Path) -> Iterator[tuple[int, str, Path, str]]:
    """(line, reference as written, target document, heading prefix) for every citation in `path`."""
    for number, line in lines_of(path):
        for m in DECISION.finditer(line):
            yield number, m.group(0), DOCS / "decisions.md", f"D{int(m.group(1))}."
        for m in SECTION.finditer(line):
            yield number, m.group(0), DOCS / "original-rules.md", f"§{m.group(1)}"
        for m in ISSUE.finditer(line):
            for n in re.findall(r"\d+", m.group(1)):
                yield number, m.group(0), DOCS / "history.md", f"Issue {int(n)}."


def test_the_documents_exist() -> None:
    for name in ("README.md", "glossary.md", "rules.md", "decisions.md", "original-rules.md", "architecture.md",
                 "history.md", "benchmarks.md"):
        assert (DOCS / name).is_file(), f"docs/{name} is missing"


def test_every_citation_resolves_to_a_heading() -> None:
    broken = [f"{path.relative_to(REPO)}:{line}: {ref!r} has no heading starting {prefix!r} in "
              f"{target.relative_to(REPO)}"
              for path in tracked_files()
              for line, ref, target, prefix in references(path)
              if not heading_starts(target, prefix)]
    assert not broken, "references that lead nowhere:\n" + "\n".join(broken)


def test_the_convention_tells_a_section_from_its_subsections() -> None:
    rules = DOCS / "original-rules.md"
    assert heading_starts(rules, "§7") and heading_starts(rules, "§7.3") and heading_starts(rules, "§13.3.15")
    missing = "\u00a77.99", "\u00a713.3.99"  # spelled so that this file cites no missing section itself
    assert not any(heading_starts(rules, prefix) for prefix in missing)
    assert heading_starts(DOCS / "decisions.md", "D19.") and not heading_starts(DOCS / "decisions.md", f"D{99}.")
    assert [m.group(0) for m in ISSUE.finditer("issues 7, 8 and 15; issue 11, item 4")] == [
        "issues 7, 8 and 15", "issue 11"]


def test_named_documents_and_their_headings_exist() -> None:
    broken = []
    for path in tracked_files():
        for line, text in lines_of(path):
            for m in DOC_PATH.finditer(text):
                target = DOCS / m.group(1)
                where = f"{path.relative_to(REPO)}:{line}: {m.group(0)!r}"
                if not target.is_file():
                    broken.append(f"{where}: no such document")
                elif m.group(2) and m.group(2)[1:] not in anchors(target):
                    broken.append(f"{where}: no such heading")
    assert not broken, "\n".join(broken)


def test_nothing_points_outside_the_repository() -> None:
    found = [f"{path.relative_to(REPO)}:{line}: {m.group(0)!r}"
             for path in tracked_files() if path != Path(__file__).resolve()
             for line, text in lines_of(path)
             for pattern in ((OUTSIDE,) if path.parent == DOCS else (OUTSIDE, BARE_DECISIONS))
             for m in pattern.finditer(text)]
    assert not found, "documents that are not in the repository (cite docs/ instead):\n" + "\n".join(found)


def markdown_files() -> list[Path]:
    return [REPO / "README.md", *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_markdown_links_resolve(path: Path) -> None:
    broken = []
    fenced = False
    for line, text in lines_of(path):
        if text.lstrip().startswith("```"):
            fenced = not fenced
        if fenced:
            continue
        for m in MD_LINK.finditer(re.sub(r"`[^`]*`", "", text)):
            target = m.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            dest = (path.parent / file_part).resolve() if file_part else path
            if dest.is_dir():
                dest = dest / "README.md"
            if not dest.is_file():
                broken.append(f"{line}: {target}: no such file")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                broken.append(f"{line}: {target}: no heading with that anchor in {dest.relative_to(REPO)}")
    assert not broken, f"{path.relative_to(REPO)}:\n" + "\n".join(broken)
