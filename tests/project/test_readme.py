"""The README's integration and layer examples run as pasted (in a scratch folder, with the inputs they assume)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"

# what a block takes as given (its inputs, a saved backbone), keyed by the block's first line
PRELUDES = {
    "import aacn, timm, torch": "",
    "from aacn import AugmentedConv1d, AugmentedConv3d": "import torch\n",
    'model = aacn.create_model("aa_resnet18_1d", in_chans=12, num_classes=5)   # e.g. 12-lead ECG, 5 rhythm classes': (
        "import aacn, torch\n"
    ),
    "import aacn": (
        "import aacn, torch\n"
        "aacn.create_model('aa_resnet50').save_pretrained('my-backbone')\n"
        "images = [torch.rand(3, 300, 400), torch.rand(3, 400, 300)]\n"
        "targets = [{'boxes': torch.tensor([[10.0, 20.0, 100.0, 200.0]]), 'labels': torch.tensor([1])}] * 2\n"
    ),
}


def _python_blocks() -> dict[str, str]:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    return {block.splitlines()[0]: block for block in blocks if block.splitlines()[0] in PRELUDES}


def test_the_examples_are_found() -> None:
    assert sorted(_python_blocks()) == sorted(PRELUDES)


@pytest.mark.process
@pytest.mark.slow
@pytest.mark.parametrize("first_line", list(PRELUDES))
def test_a_readme_example_runs(tmp_path: Path, first_line: str) -> None:
    script = PRELUDES[first_line] + _python_blocks()[first_line] + "\nprint('EXAMPLE RAN')\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert done.returncode == 0 and "EXAMPLE RAN" in done.stdout, done.stderr[-3000:]
