"""The table of ``aacn models``: every registered model's params and GFLOPs, the paper's figures beside them."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from ..models import create_model, get_spec, list_models, profile


@dataclass(frozen=True)
class ModelRow:
    model: str
    input_size: int
    num_classes: int
    params: int
    gflops: float
    paper_params_m: float | None
    paper_gflops: float | None
    paper_top1: float | None
    paper_top5: float | None
    dims: int = 2  # spatial axes of the input: 2 for images, 1 for sequences

    def as_json(self) -> dict:
        return asdict(self)


def model_rows(names: list[str] | None = None) -> list[ModelRow]:
    """Profile each model at its design input size. Models are built on the meta device: nothing is allocated."""
    rows = []
    for name in names or list_models():
        spec = get_spec(name)
        with torch.device("meta"):
            model = create_model(name)
        counted = profile(model, spec.input_size)
        paper = spec.paper
        rows.append(
            ModelRow(
                model=name,
                input_size=spec.input_size,
                num_classes=spec.num_classes,
                params=counted.params,
                gflops=round(counted.gflops, 3),
                paper_params_m=paper.params_m if paper else None,
                paper_gflops=paper.gflops if paper else None,
                paper_top1=paper.top1 if paper else None,
                paper_top5=paper.top5 if paper else None,
                dims=spec.dims,
            )
        )
    return rows


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_markdown(rows: list[ModelRow]) -> str:
    """A GitHub-markdown table; the paper's columns are '-' where the paper has no such model."""
    header = [
        "model",
        "input",
        "classes",
        "params (M)",
        "paper params (M)",
        "GFLOPs",
        "paper GFLOPs",
        "paper top-1 (%)",
    ]
    cells = [
        [
            row.model,
            "x".join([str(row.input_size)] * row.dims),  # 224x224 for an image, 1024 for a sequence
            str(row.num_classes),
            f"{row.params / 1e6:.2f}",
            _cell(row.paper_params_m, ".1f"),
            f"{row.gflops:.2f}",
            _cell(row.paper_gflops, ".1f"),
            _cell(row.paper_top1, ".1f"),
        ]
        for row in rows
    ]
    return _table(header, cells, text_columns=1)


def _table(header: list[str], cells: list[list[str]], text_columns: int) -> str:
    """A GitHub-markdown table: the first ``text_columns`` left-aligned, the numbers right-aligned."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if i < text_columns else "---:" for i in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


@dataclass(frozen=True)
class DetectionRow:
    model: str
    backbone: str
    max_size: int
    num_classes: int
    params: int
    paper_coco_map: float | None

    def as_json(self) -> dict:
        return asdict(self)


def detection_rows(names: list[str]) -> list[DetectionRow]:
    """RetinaNet models at torchvision's defaults (COCO's 91 classes, max_size 1333), built on the meta device."""
    from ..models.detection import DETECTION_MODELS, PAPER_COCO_MAP, create_detection_model

    rows = []
    for name in names:
        with torch.device("meta"):
            model = create_detection_model(name)
        rows.append(
            DetectionRow(
                model=name,
                backbone=DETECTION_MODELS[name],
                max_size=model.transform.max_size,
                num_classes=model.head.classification_head.num_classes,
                params=sum(p.numel() for p in model.parameters()),
                paper_coco_map=PAPER_COCO_MAP.get(name),
            )
        )
    return rows


def format_detection_markdown(rows: list[DetectionRow]) -> str:
    header = ["detection model", "backbone", "max image side", "classes", "params (M)", "paper COCO mAP"]
    cells = [
        [
            row.model,
            row.backbone,
            str(row.max_size),
            str(row.num_classes),
            f"{row.params / 1e6:.2f}",
            _cell(row.paper_coco_map, ".1f"),
        ]
        for row in rows
    ]
    return _table(header, cells, text_columns=2)
