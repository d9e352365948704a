"""Attention-map figures: for chosen query pixels, every head's attention weights from a real forward pass.

The weights are those the layer computed (``AugmentedConv2d.capture_attention``), not a recomputation. Each head's
weights over the attention grid are upsampled to the image and drawn over it, one row per query.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..nn import AugmentedConv2d
from ..utils.extras import require_extra


@dataclass
class AttentionMaps:
    layer: str
    weights: Tensor  # (Nh, hw, hw) of the first image
    grid: tuple[int, int]  # (h, w) of the attention grid
    image_size: tuple[int, int]  # (H, W) of the model input


def augmented_layers(model: nn.Module) -> dict[str, AugmentedConv2d]:
    return {name: m for name, m in model.named_modules() if isinstance(m, AugmentedConv2d) and m.dv > 0}


def capture_attention(model: nn.Module, image: Tensor, layer: str | None = None) -> AttentionMaps:
    """Run ``model`` on ``image`` (1, 3, H, W) and return the attention weights of one augmented layer."""
    layers = augmented_layers(model)
    if not layers:
        raise ValueError("this model has no attention-augmented layer (is it a plain model?)")
    name = layer or next(iter(layers))
    if name not in layers:
        raise ValueError(f"no augmented layer {name!r}; choose one of: {', '.join(layers)}")
    target = layers[name]
    target.capture_attention = True
    grid: dict[str, tuple[int, int]] = {}

    def record_grid(module: nn.Module, args: tuple[Tensor, ...]) -> None:
        x = args[0]
        size = (x.shape[-2], x.shape[-1])
        size = (-(-size[0] // module.stride), -(-size[1] // module.stride))  # ceil: the pooled grid
        if module.attn_downsample:
            size = ((size[0] - 1) // 2 + 1, (size[1] - 1) // 2 + 1)
        grid["size"] = size

    handle = target.register_forward_pre_hook(record_grid)
    try:
        model.eval()
        with torch.no_grad():
            model(image)
    finally:
        handle.remove()
        target.capture_attention = False
    weights = target.attention
    target.attention = None
    assert weights is not None
    return AttentionMaps(name, weights[0], grid["size"], (image.shape[-2], image.shape[-1]))


def query_index(maps: AttentionMaps, y: int, x: int) -> int:
    """Index of the attention-grid cell under image pixel (y, x)."""
    height, width = maps.image_size
    if not (0 <= y < height and 0 <= x < width):
        raise ValueError(f"query ({y},{x}) lies outside the {height}x{width} model input")
    gy = min(y * maps.grid[0] // height, maps.grid[0] - 1)
    gx = min(x * maps.grid[1] // width, maps.grid[1] - 1)
    return gy * maps.grid[1] + gx


def head_maps(maps: AttentionMaps, y: int, x: int) -> Tensor:
    """(Nh, H, W): each head's weights for the query under pixel (y, x), upsampled to the image."""
    rows = maps.weights[:, query_index(maps, y, x)]  # (Nh, hw)
    grid = rows.reshape(-1, 1, *maps.grid).float()
    return F.interpolate(grid, size=maps.image_size, mode="bilinear", align_corners=False)[:, 0]


def plot_attention_maps(
    maps: AttentionMaps, display: Tensor, queries: list[tuple[int, int]], path: Path, title: str
) -> None:
    """Grid figure: one row per query; the image with the query marked, then one overlay per head."""
    require_extra("report", "drawing figures")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    heads = maps.weights.shape[0]
    picture = display.permute(1, 2, 0).clamp(0, 1).numpy()  # (H, W, 3) in [0, 1]
    figure, axes = plt.subplots(
        len(queries), heads + 1, figsize=(1.9 * (heads + 1), 2.0 * len(queries) + 0.6), dpi=110, squeeze=False
    )
    for row, (y, x) in enumerate(queries):
        overlays = head_maps(maps, y, x)
        axes[row, 0].imshow(picture)
        axes[row, 0].scatter([x], [y], s=60, c="red", marker="x")
        axes[row, 0].set_title(f"query ({y},{x})", fontsize=9)
        for head in range(heads):
            axis = axes[row, head + 1]
            axis.imshow(picture)
            axis.imshow(overlays[head].numpy(), cmap="inferno", alpha=0.6)
            axis.scatter([x], [y], s=30, c="cyan", marker="x")
            if row == 0:
                axis.set_title(f"head {head}", fontsize=9)
    for axis in axes.flat:
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


def parse_queries(texts: list[str] | None, size: int) -> list[tuple[int, int]]:
    """'y,x' pixel pairs in the resized image; by default three points down the middle."""
    texts = texts or [f"{size // 4},{size // 4}", f"{size // 2},{size // 2}", f"{3 * size // 4},{size // 2}"]
    queries = []
    for text in texts:
        try:
            y, x = (int(v) for v in text.split(","))
        except ValueError:
            raise ValueError(f"--queries takes y,x pixel pairs such as {size // 2},{size // 2}; got {text!r}") from None
        if not (0 <= y < size and 0 <= x < size):
            raise ValueError(f"query {text} lies outside the {size}x{size} model input")
        queries.append((y, x))
    return queries


def attention_figure(
    checkpoint: str | Path,
    image: str | Path,
    output: str | Path,
    layer: str | None = None,
    queries: list[str] | None = None,
    ema: bool = False,
) -> tuple[AttentionMaps, list[tuple[int, int]]]:
    """`aacn attention-maps`: run a trained model on one image and draw one layer's attention per head."""
    from PIL import Image, UnidentifiedImageError
    from torchvision.transforms.v2 import functional as TF

    from ..checkpoints import model_from_checkpoint
    from ..data.transforms import normalization_stats

    model, meta = model_from_checkpoint(checkpoint, ema=ema)
    dataset = meta.get("config", {}).get("dataset", "imagenet")
    size = int(meta["image_size"])
    try:
        picture = Image.open(image).convert("RGB").resize((size, size), Image.BILINEAR)
    except (OSError, UnidentifiedImageError) as error:
        raise ValueError(f"cannot read image {image}: {error}") from None
    points = parse_queries(queries, size)
    display = TF.to_dtype(TF.to_image(picture), scale=True)  # (3, S, S) in [0, 1]
    mean, std = normalization_stats(dataset)
    maps = capture_attention(model, TF.normalize(display, list(mean), list(std)).unsqueeze(0), layer)
    title = (
        f"{meta['model']} {maps.layer}: attention of each head over its {maps.grid[0]}x{maps.grid[1]} grid "
        "(each map scaled to its own maximum)"
    )
    plot_attention_maps(maps, display, points, Path(output), title)
    return maps, points
