"""``motif_pairs``: a generated 1-D task where long-range comparison matters, the sequence analogue of SVRT's
same-different problem (written for aacn; no published generator).

A sequence of ``length`` steps (one channel) holds two short motifs in Gaussian noise, one in each half, at least a
quarter of the sequence apart. Class 1: the same motif twice. Class 0: two different motifs of the same energy.
A motif is a smooth random waveform (a sum of sinusoids of random frequencies and phases, under a Hann window),
scaled to unit RMS, so that its energy, length and frequency band say nothing about the class: only comparing the two
distant motifs does. A convolution sees both only after many layers; attention can compare them in one.

As for the SVRT problems, sample ``i`` of a stream is a pure function of (seed, stream, index): training sets are
nested, the test set is another stream, a held-out stream serves pilots, and classes alternate (balanced).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MOTIF_LENGTH = 24
NOISE = 0.35  # standard deviation of the background noise, against motifs of unit RMS
SEQUENCE_LENGTH = 512
TRAIN_STREAM, TEST_STREAM, HOLDOUT_STREAM = 0, 1, 2
TEST_SIZE, TRAIN_SIZE = 1000, 2000
MIN_LENGTH = 4 * MOTIF_LENGTH  # the shortest sequence whose halves hold a motif each, a quarter apart
MAX_ATTEMPTS = 10_000  # the placement's rejection loop gives up after this many tries
PROBLEM_ID = 101  # the generator's seed family, apart from the SVRT problems' 1 and 2


def motif(rng: np.random.Generator, length: int = MOTIF_LENGTH) -> np.ndarray:
    """A smooth random waveform of ``length`` steps with unit RMS."""
    t = np.arange(length) / length
    frequencies = rng.uniform(0.5, 4.0, 3)
    phases = rng.uniform(0.0, 2 * math.pi, 3)
    amplitudes = rng.uniform(0.5, 1.0, 3)
    wave = (amplitudes[:, None] * np.sin(2 * math.pi * frequencies[:, None] * t + phases[:, None])).sum(0)
    wave *= np.hanning(length + 2)[1:-1]
    return wave / max(float(np.sqrt((wave**2).mean())), 1e-9)


@dataclass(frozen=True)
class MotifSample:
    """One sequence's content: its class, its two motifs, where they start, and the noise under them."""

    label: int
    motifs: tuple[np.ndarray, np.ndarray]
    starts: tuple[int, int]
    noise: np.ndarray

    def sequence(self) -> np.ndarray:
        """(length,) float32: the noise with both motifs added."""
        sequence = self.noise.copy()
        for wave, start in zip(self.motifs, self.starts, strict=True):
            sequence[start : start + len(wave)] += wave
        return sequence.astype(np.float32)


def check_length(length: int) -> None:
    """Refuse a sequence length the generator cannot draw (two motifs, one per half, a quarter apart)."""
    if length < MIN_LENGTH:
        raise ValueError(
            f"motif_pairs needs sequences of at least {MIN_LENGTH} steps, got {length}; use --image-size "
            f"{MIN_LENGTH} or more (default {SEQUENCE_LENGTH})"
        )


def motif_sample(seed: int, stream: int, index: int, length: int = SEQUENCE_LENGTH) -> MotifSample:
    """Sample ``index`` of ``stream``: a pure function of its arguments."""
    check_length(length)
    rng = np.random.default_rng([PROBLEM_ID, seed, stream, index])
    label = index % 2
    first = motif(rng)
    second = first if label == 1 else motif(rng)
    half = length // 2
    for _ in range(MAX_ATTEMPTS):  # one motif in each half, at least a quarter of the sequence apart
        a = int(rng.integers(0, half - MOTIF_LENGTH + 1))
        b = int(rng.integers(half, length - MOTIF_LENGTH + 1))
        if b - a >= length // 4:
            return MotifSample(label, (first, second), (a, b), rng.normal(0.0, NOISE, length))
    # unreachable from MIN_LENGTH on (a = 0 with the last b always qualifies): a bug, reported rather than a hang
    raise RuntimeError(f"motif_pairs: no placement of two motifs found in {MAX_ATTEMPTS:,} tries at length {length}")


def motif_split(
    train: bool, length: int = SEQUENCE_LENGTH, count: int | None = None, seed: int = 0, holdout: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Sequences (N, 1, length) float32 and labels (N,) of one split."""
    if count is None:
        count = TRAIN_SIZE if train else TEST_SIZE
    stream = TRAIN_STREAM if train else (HOLDOUT_STREAM if holdout else TEST_STREAM)
    samples = [motif_sample(seed, stream, i, length) for i in range(count)]
    sequences = np.stack([s.sequence() for s in samples])[:, None, :]
    labels = np.array([s.label for s in samples], dtype=np.int64)
    return sequences, labels
