"""Issue 22: the operator guide's commands parse in bash and in zsh (macOS's default shell), and use nothing that
means something else in zsh (`read -p` reads from a coprocess there). Each ```bash block of deploy/README.md is
checked with `bash -n` and `zsh -n`; the deploy path needs no development tool (make install, the venv)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.unit.test_deploy_config import REPO

GUIDE = REPO / "deploy" / "README.md"
BLOCKS = re.findall(r"^```bash\n(.*?)^```", GUIDE.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)


def test_the_guide_has_command_blocks() -> None:
    assert len(BLOCKS) >= 10, len(BLOCKS)


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_every_block_parses(shell: str) -> None:
    binary = shutil.which(shell)
    if binary is None:  # scripts/check_system.sh (make install) installs zsh; this only says what is missing
        pytest.skip(f"{shell} is not installed: run `make install` (scripts/check_system.sh installs it)")
    for number, block in enumerate(BLOCKS, 1):
        result = subprocess.run([binary, "-n"], input=block, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"block {number} does not parse in {shell}: {result.stderr}\n{block}"


def test_no_bash_only_read_options() -> None:
    for block in BLOCKS:
        for line in block.splitlines():
            if re.search(r"\bread\b", line):
                assert not re.search(r"\bread\s+-\w*p", line), f"zsh's read -p reads a coprocess: {line}"
                assert not re.search(r"\bread\s+-\w*[ae]", line), f"bash-only read option: {line}"


def test_the_deploy_path_needs_no_development_tool() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    deploy = text[text.index("## 1."):text.index("## 4.")]
    for block in re.findall(r"^```bash\n(.*?)^```", deploy, re.MULTILINE | re.DOTALL):
        assert "make install" not in block and ".venv/" not in block, block
    assert "make bundle" in deploy
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^bundle:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe, "make bundle"
    assert "$(PY)" not in recipe.group(0) and "check_system" not in recipe.group(0), recipe.group(0)
    for phrase in ("Firebase terms", "WSL", "brew install"):
        assert phrase in deploy, phrase
