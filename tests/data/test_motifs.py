"""motif_pairs, the generated 1-D task: deterministic, balanced, nested, labelled correctly by construction; the 1-D
models it is for; and `aacn compare` on it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from aacn import AugmentedConv1d, create_model
from aacn.data import build_split
from aacn.data.motifs import MOTIF_LENGTH, TEST_STREAM, TRAIN_STREAM, motif_sample, motif_split


def test_a_sample_is_a_pure_function_of_its_seed_stream_and_index() -> None:
    first = motif_sample(3, TRAIN_STREAM, 17).sequence()
    assert np.array_equal(first, motif_sample(3, TRAIN_STREAM, 17).sequence())
    assert not np.array_equal(first, motif_sample(3, TEST_STREAM, 17).sequence())
    assert not np.array_equal(first, motif_sample(4, TRAIN_STREAM, 17).sequence())


def test_same_pairs_are_one_motif_twice_far_apart_and_different_pairs_are_not() -> None:
    for index in range(40):
        sample = motif_sample(0, TRAIN_STREAM, index, 256)
        a, b = sample.starts
        assert a + MOTIF_LENGTH <= 128 <= b and b - a >= 64, "one in each half, a quarter of the sequence apart"
        for wave in sample.motifs:
            assert np.sqrt((wave**2).mean()) == pytest.approx(1.0), "unit RMS: energy says nothing"
        same = np.array_equal(*sample.motifs)
        assert same == (sample.label == 1) and sample.label == index % 2
        sequence = sample.sequence()
        np.testing.assert_allclose(sequence[a : a + MOTIF_LENGTH] - sample.noise[a : a + MOTIF_LENGTH],
                                   sample.motifs[0], atol=1e-5)  # fmt: skip


def test_splits_are_balanced_nested_and_apart() -> None:
    sequences, labels = motif_split(True, 128, 40)
    assert sequences.shape == (40, 1, 128) and sequences.dtype == np.float32 and labels.tolist() == [0, 1] * 20
    assert np.array_equal(motif_split(True, 128, 10)[0], sequences[:10]), "nested training sets"
    test, _ = motif_split(False, 128, 20)
    holdout, _ = motif_split(False, 128, 20, holdout=True)
    seen = {s.tobytes() for s in sequences}
    assert not any(s.tobytes() in seen for s in test) and not any(s.tobytes() in seen for s in holdout)
    split = build_split("motif_pairs", True, None, False, 128, train_size=12)
    item, label = split.base[3]
    assert tuple(split.transform(item).shape) == (1, 128) and label == 1 and split.num_classes == 2
    with pytest.raises(ValueError, match="motif_pairs needs sequences of at least 96 steps, got 64"):
        motif_sample(0, TRAIN_STREAM, 0, 64)


def test_the_sequence_models() -> None:
    plain, augmented = create_model("resnet18_1d"), create_model("aa_resnet18_1d")
    x = torch.randn(2, 1, 1024)
    assert plain(x).shape == augmented(x).shape == (2, 2)
    layers = {n: m for n, m in augmented.named_modules() if isinstance(m, AugmentedConv1d)}
    assert sorted(layers) == [f"layer{s}.{b}.conv1" for s in (2, 3, 4) for b in (0, 1)]
    assert [layers[f"layer{s}.0.conv1"].max_size for s in (2, 3, 4)] == [(128,), (64,), (32,)]
    assert plain.pretrained_cfg["input_size"] == (1, 1024)
    assert sum(p.numel() for p in plain.parameters()) == 3_844_930


@pytest.mark.slow
@pytest.mark.process
def test_compare_runs_on_the_sequence_task(tmp_path: Path) -> None:
    # One seed, both models: the 1-D pair goes through compare end to end; the paired analysis over seeds is
    # tested on svrt2 (tests/report), so a second seed here would only repeat it at the cost of two more runs.
    command = [sys.executable, "-m", "aacn", "compare", "--dataset", "motif_pairs", "--train-sizes", "32",
               "--seeds", "0", "--epochs", "1", "--image-size", "128", "--val-size", "32", "--output",
               str(tmp_path)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp_path / "results.json").read_text())
    assert [m["model"] for m in summary["models"]] == ["resnet18_1d", "aa_resnet18_1d"]
    assert summary["analysis"]["verdict"] in (tmp_path / "report.md").read_text()
