"""``aacn predict``: a trained model's classes for a folder or a list of images, one CSV row per image.

The model comes from a training checkpoint (``.ckpt``) or a ``save_pretrained`` folder; its class names, image size
and normalisation from what the run recorded (a folder dataset's class names, ``label_names`` in ``config.json``).
Images are read with Pillow and prepared as the model's validation images were: resized to 8/7 of the side and
centre-cropped for ImageNet-style data (ImageNet, a folder of images), resized to the side otherwise. A file Pillow
cannot read is named on stderr and skipped.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image, UnidentifiedImageError
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from ..checkpoints import CheckpointError, model_from_checkpoint
from ..data import is_user_data
from ..data.folder import IMAGE_EXTENSIONS
from ..data.transforms import imagenet_transforms, normalization_stats
from ..utils import atomic_write_text

CROPPED = ("imagenet",)  # with the user's own images: validation images resized to 8/7 and centre-cropped


@dataclass
class Predictor:
    """A model ready for inference and how its inputs are prepared."""

    model: nn.Module
    classes: list[str]
    image_size: int
    transform: v2.Compose
    source: str


def load_predictor(source: str | Path) -> Predictor:
    """The model of a checkpoint file or a save_pretrained folder, in eval mode, with its classes and transform."""
    path = Path(source)
    if not path.exists():
        raise CheckpointError(
            f"--model {source}: no such file or folder; give a training checkpoint (.ckpt) or a save_pretrained folder"
        )
    if path.is_dir():
        from ..exchange import from_pretrained

        model = from_pretrained(path)
        cfg = json.loads((path / "config.json").read_text()).get("pretrained_cfg", {})
        size = int(cfg.get("input_size", (3, 224, 224))[-1])
        stats = (tuple(cfg.get("mean", (0.485, 0.456, 0.406))), tuple(cfg.get("std", (0.229, 0.224, 0.225))))
        classes = cfg.get("label_names")
        cropped = cfg.get("crop_pct", 1.0) < 1.0
    else:
        model, meta = model_from_checkpoint(path)
        size = int(meta["image_size"])
        dataset = meta.get("config", {}).get("dataset", "imagenet")
        stats = tuple(tuple(v) for v in meta["stats"]) if meta.get("stats") else normalization_stats(dataset)
        classes = meta.get("classes")
        cropped = dataset in CROPPED or is_user_data(dataset)
    if getattr(model, "spatial_dims", 2) != 2:
        raise CheckpointError(f"aacn predict reads images; the model of {source} takes sequences")
    num_classes = int(model.create_args["num_classes"])
    if not classes or len(classes) != num_classes:
        classes = [str(i) for i in range(num_classes)]
    if cropped:
        transform = imagenet_transforms(False, size, stats)
    else:
        transform = v2.Compose([v2.ToImage(), v2.Resize((size, size), antialias=True),
                                v2.ToDtype(torch.float32, scale=True), v2.Normalize(*stats)])  # fmt: skip
    return Predictor(model.eval(), list(classes), size, transform, str(source))


def image_paths(inputs: Iterable[str | Path]) -> list[Path]:
    """The images named: files as given, folders searched recursively (sorted) for the formats Pillow reads."""
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"aacn predict: {path} is neither an image file nor a folder")
    if not found:
        raise FileNotFoundError(
            f"aacn predict: no image ({', '.join(IMAGE_EXTENSIONS)}) under {', '.join(map(str, inputs))}"
        )
    return found


class _Images(Dataset):
    def __init__(self, paths: list[Path], transform: v2.Compose, size: int, channels: int) -> None:
        self.paths, self.transform, self.size, self.channels = paths, transform, size, channels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, bool]:
        try:
            with Image.open(self.paths[index]) as image:
                image = image.convert("RGB" if self.channels == 3 else "L")
            return self.transform(image), index, True
        except (OSError, UnidentifiedImageError, ValueError) as error:
            print(f"aacn predict: skipping unreadable image {self.paths[index]}: {error}", file=sys.stderr)
            return torch.zeros(self.channels, self.size, self.size), index, False


def predict(
    source: str | Path, inputs: Iterable[str | Path], output: str | Path, top_k: int = 5, batch_size: int = 64,
    device: str = "auto", num_workers: int = 0, progress: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Write ``output`` (CSV: path, class, probability, top_k as ``class:probability`` joined by ``;``); returns a
    summary (images, skipped, output)."""
    if top_k < 1 or batch_size < 1:
        raise ValueError(f"top_k and batch_size must be >= 1, got top_k={top_k} batch_size={batch_size}")
    predictor = load_predictor(source)
    paths = image_paths(inputs)
    target = torch.device(
        "cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device)
    )
    model = predictor.model.to(target)
    channels = int(model.pretrained_cfg["input_size"][0])
    loader = DataLoader(_Images(paths, predictor.transform, predictor.image_size, channels), batch_size=batch_size,
                        num_workers=num_workers)  # fmt: skip
    k = min(top_k, len(predictor.classes))
    rows: list[list[str]] = []
    skipped = 0
    batches: Iterable[Any] = loader
    if progress:
        from rich.progress import track

        batches = track(loader, description="predicting", total=len(loader), transient=True)
    with torch.inference_mode():
        for images, indices, readable in batches:
            probabilities = model(images.to(target)).float().softmax(dim=1).cpu()
            values, classes = probabilities.topk(k, dim=1)
            for row in range(len(indices)):
                if not readable[row]:
                    skipped += 1
                    continue
                names = [predictor.classes[c] for c in classes[row].tolist()]
                top = ";".join(f"{n}:{v:.4f}" for n, v in zip(names, values[row].tolist(), strict=True))
                rows.append([str(paths[int(indices[row])]), names[0], f"{values[row, 0].item():.4f}", top])
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["path", "class", "probability", f"top{k}"])
    writer.writerows(rows)
    atomic_write_text(Path(output), text.getvalue())
    return {"images": len(rows), "skipped": skipped, "output": str(output), "source": predictor.source}
