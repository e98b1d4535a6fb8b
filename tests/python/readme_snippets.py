"""The README's code blocks that are meant to run, in order, as a reader would run them.

A block runs when an HTML comment names its kind on the line before it (invisible on GitHub):
``<!-- readme-test: python -->`` (the block is one script, run as it stands: it must import what
it uses), ``<!-- readme-test: shell -->`` (each ``$ `` line of a console block, or each line of
an sh block, is one command) and ``<!-- readme-test: install -->`` (shell commands that install
the wheel from ``dist/``: only test_wheel.py runs those, in a fresh venv)."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
_BLOCK = re.compile(r"^<!-- readme-test: (\w+) -->\n```(\w+)\n(.*?)^```$", re.S | re.M)


@dataclass
class Block:
    kind: str   # python, shell or install
    line: int   # where the block starts in README.md
    code: str

    def commands(self) -> list[str]:
        """The shell commands of a shell or install block."""
        lines = self.code.splitlines()
        if any(x.startswith("$ ") for x in lines):
            return [x[2:] for x in lines if x.startswith("$ ")]
        return [x for x in lines if x.strip() and not x.lstrip().startswith("#")]


def blocks(text: str | None = None) -> list[Block]:
    text = README.read_text() if text is None else text
    found = []
    for m in _BLOCK.finditer(text):
        kind, lang, code = m.groups()
        if kind not in ("python", "shell", "install"):
            raise ValueError(f"README.md:{text.count(chr(10), 0, m.start()) + 1}: unknown readme-test kind {kind!r}")
        found.append(Block(kind, text.count("\n", 0, m.start()) + 2, code))
    return found


def run_blocks(kinds: set[str], *, python: str, cwd: Path, env: dict[str, str]) -> list[str]:
    """Runs the README's blocks of these kinds in `cwd`, the install lines first (the First read
    comes before the Install section, but a reader installs first), then in order; returns the
    failure, if any (later blocks build on earlier ones, so the first failure ends the run)."""
    failures = []
    chosen = sorted((b for b in blocks() if b.kind in kinds), key=lambda b: b.kind != "install")
    for i, block in enumerate(chosen):
        if block.kind == "python":
            script = cwd / f"readme_block_{i}_line_{block.line}.py"
            script.write_text(block.code)
            steps = [[python, script.name]]
        else:
            steps = [["bash", "-euo", "pipefail", "-c", command] for command in block.commands()]
        for args in steps:
            proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
            if proc.returncode != 0:
                failures.append(f"README.md:{block.line} ({block.kind}) {args[-1]!r} failed with {proc.returncode}:\n"
                                f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
                return failures  # later blocks build on this one
    return failures


def environment(bin_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a reader whose shell has this virtual environment activated."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}"
    env["VIRTUAL_ENV"] = str(bin_dir.parent)
    env.update(extra)
    return env
