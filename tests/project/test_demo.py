"""`make demo` runs the quick variant that docs/svrt_study.md fixed before its result, and the README quotes it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _makefile_demo_command() -> list[str]:
    makefile = (ROOT / "Makefile").read_text().replace("\\\n", " ")  # join continued lines
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", makefile, flags=re.MULTILINE)
    assert recipe is not None, "the Makefile has a demo target"
    commands = [line.strip() for line in recipe.group(1).splitlines() if "compare" in line]
    assert len(commands) == 1, commands
    words = shlex.split(commands[0])
    assert words[0] == "$(BIN)/aacn", words
    return ["aacn", *words[1:]]


def _protocol_demo_command() -> list[str]:
    """The last command written in the protocol's `make demo` section: its latest amendment wins."""
    protocol = (ROOT / "docs" / "svrt_study.md").read_text()
    section = protocol[protocol.index("## `make demo`") :]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    assert blocks, "the protocol writes the demo's command out"
    return shlex.split(blocks[-1].replace("\\\n", " "))


def test_make_demo_runs_the_variant_the_protocol_fixed() -> None:
    assert _makefile_demo_command() == _protocol_demo_command()


def test_the_readme_quotes_the_demo_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"`{shlex.join(_protocol_demo_command())}`" in readme.replace("\n", " ")
