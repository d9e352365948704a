"""Procedural visual-reasoning problems after the Synthetic Visual Reasoning Test (Fleuret et al., PNAS 2011).

Written by us from the problems' published descriptions (no code of the original generator):

- ``svrt1`` (same-different): two closed contours that do not overlap, drawn at one scale (as the published
  problem 1 draws both of its shapes at one scale, so that size is no cue). Class 1: the same shape (same size and
  orientation) at two places, identical up to translation. Class 0: two independently drawn shapes of that scale.
- ``svrt2`` (spatial relation, the control): a small contour inside a large one. Class 1: the small one at the
  centre of the large one. Class 0: the small one inside, near the large one's border.

Kim, Ricci and Serre (2018) and Vaishnav et al. (2022) found feed-forward CNNs need far more samples on the
same-different family than on the spatial-relation one.

Everything is a function of (problem, seed, stream, index): sample ``i`` of a split is drawn from its own generator,
so a training set of N samples is the first N of a larger one (the sizes of a sample-efficiency study are nested),
the test set comes from another stream, and a third (HOLDOUT_STREAM) serves pilots that must not look at the test
set. Classes alternate (index % 2), so every split is balanced. Shapes are
star-shaped closed curves ``r(t) = R (1 + sum_k a_k cos(k t + p_k))`` drawn as 1-pixel outlines; every centre is an
integer pixel, so a shape drawn at two centres is the same pixels translated. Images smaller than 64x64 are drawn at
64x64 or more (a whole multiple) and averaged over blocks, with every centre on a block corner: the outlines keep their
detail as grey levels, and a shape drawn twice is still the same pixels translated.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

SVRT_IMAGE_SIZE = 64
SVRT_STUDY_SIZE = 32  # the image side of the svrt1 and svrt2 recipes
DRAW_SIZE = 64  # smaller images are drawn at least this large, then block-averaged
SVRT_TEST_SIZE = 1000  # fixed size of every test split
SVRT_TRAIN_SIZE = 2000  # training samples when no train_size is given
TRAIN_STREAM, TEST_STREAM, HOLDOUT_STREAM = 0, 1, 2
PROBLEM_IDS = {"svrt1": 1, "svrt2": 2}
HARMONICS = 5
# A generator's rejection loop gives up after this many tries; at every size check_size lets through, the worst draw
# the study's data needed was a few hundred (svrt1) or a handful (svrt2), so reaching it means a bug, not bad luck.
MAX_ATTEMPTS = 20_000
SD_RADIUS, SD_WOBBLE, SD_GAP = (0.09, 0.15), 0.5, 2.0  # svrt1: mean radius (share of the side), wobble, gap (pixels)
INSIDE_LARGE_RADIUS, INSIDE_LARGE_WOBBLE = (0.26, 0.32), 0.2  # svrt2's large contour


@dataclass(frozen=True)
class Shape:
    """A star-shaped closed curve: mean radius (pixels) and relative harmonic amplitudes and phases."""

    radius: float
    amplitudes: tuple[float, ...]
    phases: tuple[float, ...]

    @classmethod
    def random(cls, rng: np.random.Generator, radius: float, wobble: float = 0.5) -> Shape:
        """Harmonic amplitudes falling with frequency, scaled so that the radius never drops below 1 - wobble."""
        raw = rng.uniform(-1.0, 1.0, HARMONICS) / np.arange(1, HARMONICS + 1)
        amplitudes = raw * (wobble / max(np.abs(raw).sum(), 1e-9))
        phases = rng.uniform(0.0, 2 * math.pi, HARMONICS)
        return cls(float(radius), tuple(float(a) for a in amplitudes), tuple(float(p) for p in phases))

    def radius_at(self, angles: np.ndarray) -> np.ndarray:
        """The curve's radius at each angle (any shape of array)."""
        flat = np.asarray(angles, dtype=np.float64).reshape(1, -1)
        k = np.arange(1, HARMONICS + 1)[:, None]
        wave = (np.asarray(self.amplitudes)[:, None] * np.cos(k * flat + np.asarray(self.phases)[:, None])).sum(0)
        return (self.radius * (1.0 + wave)).reshape(np.shape(angles))

    @property
    def extent(self) -> float:
        """An upper bound of the distance from the centre to the outline."""
        return self.radius * (1.0 + sum(abs(a) for a in self.amplitudes))

    def offsets(self) -> np.ndarray:
        """(K, 2) integer (row, column) offsets of the outline's pixels from the centre, 8-connected, no repeats."""
        count = max(64, int(8 * math.pi * self.extent))  # several samples per pixel of perimeter: no gaps
        angles = np.linspace(0.0, 2 * math.pi, count, endpoint=False)
        radii = self.radius_at(angles)
        points = np.rint(np.stack([-radii * np.sin(angles), radii * np.cos(angles)], 1)).astype(np.int64)
        return np.unique(points, axis=0)

    def filled(self, size: int, centre: tuple[int, int]) -> np.ndarray:
        """(size, size) bool mask of the curve's inside, outline included."""
        rows, cols = np.mgrid[0:size, 0:size]
        dy, dx = rows - centre[0], cols - centre[1]
        return np.hypot(dy, dx) <= self.radius_at(np.arctan2(-dy, dx)) + 0.5


@dataclass(frozen=True)
class SvrtSample:
    """One image's content: its class, shapes and their integer pixel centres (enough to draw it again)."""

    label: int
    shapes: tuple[Shape, ...]
    centres: tuple[tuple[int, int], ...]

    def render(self, size: int) -> np.ndarray:
        """(size, size) uint8 image: white outlines on black, drawn at ``size * draw_factor(size)`` and averaged."""
        factor = draw_factor(size)
        drawn = np.zeros((size * factor, size * factor), dtype=np.float32)
        for shape, (row, col) in zip(self.shapes, self.centres, strict=True):
            points = shape.offsets() + np.array([row, col])
            inside = (points >= 0).all(1) & (points < size * factor).all(1)
            drawn[points[inside, 0], points[inside, 1]] = 255.0
        # (S f, S f) -> (S, f, S, f) -> mean over each f x f block
        return np.rint(drawn.reshape(size, factor, size, factor).mean((1, 3))).astype(np.uint8)


def draw_factor(size: int) -> int:
    """How many times larger than ``size`` an image is drawn: a whole number reaching at least DRAW_SIZE."""
    return max(1, math.ceil(DRAW_SIZE / size))


def _outline_mask(shape: Shape, centre: tuple[int, int], size: int, grow: int = 0) -> np.ndarray:
    """The outline's pixels, dilated by ``grow`` pixels (a square neighbourhood)."""
    mask = np.zeros((size, size), dtype=bool)
    points = shape.offsets() + np.array(centre)
    for dy in range(-grow, grow + 1):
        for dx in range(-grow, grow + 1):
            moved = points + np.array([dy, dx])
            keep = (moved >= 0).all(1) & (moved < size).all(1)
            mask[moved[keep, 0], moved[keep, 1]] = True
    return mask


def _centre_range(extent: float, size: int, step: int) -> tuple[int, int]:
    """The lowest and highest multiples of ``step`` (in steps) at which a shape of ``extent`` lies inside the image;
    empty (low > high) where none does."""
    return -(-(math.ceil(extent) + 1) // step), (size - 2 - math.ceil(extent)) // step


def _centre_for(rng: np.random.Generator, extent: float, size: int, step: int) -> tuple[int, int]:
    """A centre keeping the shape inside the image, on a multiple of ``step`` (a block corner of the averaging)."""
    low, high = _centre_range(extent, size, step)
    return int(rng.integers(low, high + 1)) * step, int(rng.integers(low, high + 1)) * step


class SvrtDrawError(RuntimeError):
    """A generator found no placement within MAX_ATTEMPTS tries (only possible at a size :func:`check_size`
    should have refused); ``exit_code`` 3: a data failure."""

    exit_code = 3


def _gave_up(problem: str, size: int, step: int) -> SvrtDrawError:
    return SvrtDrawError(
        f"{problem}: no placement of its shapes found in {MAX_ATTEMPTS:,} tries at {size // step}x{size // step} "
        f"images; use --image-size {smallest_size(problem)} or more (please report this size)"
    )


def same_different(rng: np.random.Generator, label: int, size: int, step: int) -> SvrtSample:
    """svrt1: two non-overlapping contours of one scale, the same shape (label 1) or two different ones (label 0)."""
    radius = rng.uniform(*SD_RADIUS) * size  # one scale per image, both classes: size tells nothing
    first = Shape.random(rng, radius, SD_WOBBLE)
    second = first if label == 1 else Shape.random(rng, radius, SD_WOBBLE)
    for _ in range(MAX_ATTEMPTS):  # rejection: the two outlines keep at least SD_GAP pixels apart
        a, b = _centre_for(rng, first.extent, size, step), _centre_for(rng, second.extent, size, step)
        if math.dist(a, b) > first.extent + second.extent + SD_GAP:
            return SvrtSample(label, (first, second), (a, b))
    raise _gave_up("svrt1", size, step)


def inside_centre_or_border(rng: np.random.Generator, label: int, size: int, step: int) -> SvrtSample:
    """svrt2: a small contour inside a large one, at its centre (label 1) or near its border (label 0)."""
    for _ in range(MAX_ATTEMPTS):
        # sizes chosen so that a centred small contour is always >= 7 pixels (at 64x64) from the border
        large = Shape.random(rng, rng.uniform(*INSIDE_LARGE_RADIUS) * size, wobble=INSIDE_LARGE_WOBBLE)
        small = Shape.random(rng, rng.uniform(0.05, 0.07) * size, wobble=0.3)
        centre = _centre_for(rng, large.extent, size, step)
        if label == 1:
            jitter = rng.integers(-1, 2, 2)
            inner = (centre[0] + int(jitter[0]), centre[1] + int(jitter[1]))
        else:  # at a random angle, as far out as the large contour allows, less a 1.5-3 pixel gap
            angle = rng.uniform(0.0, 2 * math.pi)
            reach = float(large.radius_at(np.array([angle]))[0]) - small.extent - rng.uniform(1.5, 3.0)
            inner = (centre[0] - round(reach * math.sin(angle)), centre[1] + round(reach * math.cos(angle)))
        inside = large.filled(size, centre) & ~_outline_mask(large, centre, size, grow=1)
        if (_outline_mask(small, inner, size) <= inside).all():  # wholly inside, never touching the border
            return SvrtSample(label, (large, small), (centre, inner))
    raise _gave_up("svrt2", size, step)


GENERATORS = {"svrt1": same_different, "svrt2": inside_centre_or_border}


@functools.cache
def drawable(problem: str, size: int) -> bool:
    """Whether ``problem``'s generator can place its shapes in ``size`` x ``size`` images whatever it draws.

    Decided by the worst case of its geometry, in the drawing's pixels (``size * draw_factor(size)``), where centres
    lie on multiples of the averaging block: svrt1's largest shapes (mean radius at the top of its range, full wobble)
    need two centres farther apart than twice their extent plus the gap, and the farthest two are the corners of the
    centres' grid; svrt2's largest outer contour needs one centre at all. Coarse blocks (tiny images) fail both.
    """
    step = draw_factor(size)
    drawn = size * step
    if problem == "svrt1":
        extent = SD_RADIUS[1] * drawn * (1 + SD_WOBBLE)
        low, high = _centre_range(extent, drawn, step)
        return high >= low and math.sqrt(2) * (high - low) * step > 2 * extent + SD_GAP
    if problem == "svrt2":
        low, high = _centre_range(INSIDE_LARGE_RADIUS[1] * drawn * (1 + INSIDE_LARGE_WOBBLE), drawn, step)
        return high >= low
    raise ValueError(f"unknown SVRT problem {problem!r}; known: {', '.join(GENERATORS)}")


@functools.cache
def smallest_size(problem: str) -> int:
    """The smallest image side from which every larger one is drawable (from DRAW_SIZE on the drawing is never
    coarser than one pixel, so the geometry only scales)."""
    size = DRAW_SIZE
    while size > 1 and drawable(problem, size - 1):
        size -= 1
    return size


def check_size(problem: str, size: int) -> None:
    """Refuse, before anything is drawn, an image side the generator cannot draw, naming the smallest that works."""
    if not drawable(problem, size):
        raise ValueError(
            f"{problem} cannot be drawn at {size}x{size} images: its shapes find no place at that resolution; use "
            f"--image-size {smallest_size(problem)} or more (the study uses {SVRT_STUDY_SIZE})"
        )


def svrt_sample(problem: str, seed: int, stream: int, index: int, size: int = SVRT_IMAGE_SIZE) -> SvrtSample:
    """Sample ``index`` of ``stream`` (TRAIN_STREAM or TEST_STREAM) for ``size`` x ``size`` images: a pure function
    of its arguments. Its geometry is in the pixels of the drawing (``size * draw_factor(size)``)."""
    check_size(problem, size)
    rng = np.random.default_rng([PROBLEM_IDS[problem], seed, stream, index])
    factor = draw_factor(size)
    return GENERATORS[problem](rng, index % 2, size * factor, factor)


def svrt_split(
    problem: str, train: bool, size: int = SVRT_IMAGE_SIZE, count: int | None = None, seed: int = 0,
    holdout: bool = False,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Images (N, size, size, 3) uint8 (grey repeated to 3 channels) and labels (N,) of one split; ``holdout``: the
    evaluation split comes from the held-out stream instead of the test stream."""
    check_size(problem, size)
    if count is None:
        count = SVRT_TRAIN_SIZE if train else SVRT_TEST_SIZE
    stream = TRAIN_STREAM if train else (HOLDOUT_STREAM if holdout else TEST_STREAM)
    samples = [svrt_sample(problem, seed, stream, i, size) for i in range(count)]
    images = np.stack([s.render(size) for s in samples])
    labels = np.array([s.label for s in samples], dtype=np.int64)
    return np.repeat(images[..., None], 3, axis=-1), labels
