"""The ``aacn`` command. Thin: it parses arguments and calls the package; user errors print one line, exit 2."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable

from . import __version__
from .bench.models import MODES, PRECISIONS
from .config import USER_DATA_SETTINGS, add_setting_flags


def _cmd_models(args: argparse.Namespace) -> int:
    from .models import list_models
    from .models.detection import DETECTION_MODELS
    from .report.models_table import detection_rows, format_detection_markdown, format_markdown, model_rows
    from .utils.extras import missing_modules

    names, detection_names = list_models(), list(DETECTION_MODELS)
    if args.filter:
        names = [name for name in names if args.filter in name]
        detection_names = [name for name in detection_names if args.filter in name]
        if not names and not detection_names:
            raise ValueError(f"no model name contains {args.filter!r}; `aacn models` lists them all")
    rows = model_rows(names) if names else []
    detection_note = None
    if detection_names and missing_modules("detection"):
        detection_note = "the detection models (retinanet_*) need torchvision: pip install 'aacn[detection]'"
        detection_names = []
    detections = detection_rows(detection_names)
    if args.plot:
        from pathlib import Path

        from .report.models_plot import plot_models

        plot_models(rows, Path(args.plot))
    if args.json:
        listing = {"models": [row.as_json() for row in rows], "detection": [row.as_json() for row in detections]}
        if detection_note:
            listing["detection_note"] = detection_note
        print(json.dumps(listing, indent=2))
        return 0
    if rows:
        print(format_markdown(rows))
        print(
            "\nGFLOPs = 2 x multiply-adds of one image at the model's input size, counted by "
            "torch.utils.flop_counter (attention matmuls included); paper figures from Bello et al. 2019."
        )
    if detections:
        print(("\n" if rows else "") + format_detection_markdown(detections))
        print(
            "\ntorchvision's RetinaNet (FPN on stages 3-5, P6-P7) at its defaults: COCO's 91 classes, images up to "
            "1333 px (the AA tables cover 1344x1344); paper mAP from Bello et al. 2019, Table 5."
        )
    if detection_note:
        print("\n" + detection_note)
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .config import resolve_config, setting_overrides

    if not args.print_config:
        from .engine import train

    config = resolve_config(args.recipe, **setting_overrides(args))
    if args.print_config:
        from .config import describe_config

        print(describe_config(config))
        return 0
    results = train(config, resume=args.resume)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # one line per run, from rank 0
    top1 = results["top1"]
    print(
        f"{results['model']} on {results['dataset']}: top-1 {100 * top1:.2f}% after {results['epochs']} epochs, "
        f"{results['wall_time_s']:.0f} s; wrote {config.output}/results.json"
        if top1 is not None
        else f"wrote {config.output}/results.json"
    )
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from .engine import evaluate

    results = evaluate(
        args.checkpoint, args.dataset, args.data_dir, args.batch_size, args.workers, args.accelerator, args.ema
    )
    if args.json:
        print(json.dumps(results))
    else:
        print(
            f"{results['model']} on {results['dataset']} ({results['images']} images): "
            f"top-1 {100 * results['top1']:.2f}%, top-5 {100 * results['top5']:.2f}%, loss {results['loss']:.4f}, "
            f"{results['images_per_sec']:.1f} images/s"
        )
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from .engine.predict import predict

    summary = predict(args.model, args.images, args.output, args.top_k, args.batch_size, args.device, args.workers)
    skipped = f", skipped {summary['skipped']} unreadable" if summary["skipped"] else ""
    print(f"wrote {summary['output']}: {summary['images']} images{skipped}")
    return 0


def _cmd_shards(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .data.shards import write_shards

    index = write_shards(Path(args.data_dir), Path(args.output), args.val_fraction, args.shard_size)
    counts = {name: sum(split["counts"]) for name, split in index["splits"].items()}
    shards = {name: len(split["shards"]) for name, split in index["splits"].items()}
    print(f"wrote {args.output}: {counts['train']} training images in {shards['train']} shards, {counts['val']} "
          f"validation images in {shards['val']}, {len(index['classes'])} classes (train with --dataset "
          f"shards:{args.output})")  # fmt: skip
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    if args.format == "onnx":
        from .exchange.onnx import export_onnx

        written = export_onnx(args.checkpoint, args.output, ema=args.ema, dynamo=args.dynamo)
        print(
            f"wrote {written['onnx']} (batch dynamic, {written['image_size']}x{written['image_size']} images; "
            f"onnxruntime agrees with PyTorch to {written['max_difference']:.1e})"
        )
        return 0
    from .exchange import CONFIG, WEIGHTS, export_pretrained

    if args.dynamo:
        raise ValueError("--dynamo chooses the ONNX exporter; it applies to --format onnx only")
    if args.format == "safetensors":
        print("aacn export: --format safetensors now writes the save_pretrained folder (0.4)", file=sys.stderr)
    folder = export_pretrained(args.checkpoint, args.output, ema=args.ema)
    print(f"wrote {folder / WEIGHTS} and {folder / CONFIG} (load with aacn.from_pretrained)")
    return 0


# The training settings `aacn compare` takes and hands unchanged to every run (the recipe sets the rest).
COMPARE_SETTINGS = (
    "epochs", "sample_budget", "batch_size", "image_size", "num_workers", "accelerator", "devices", "precision",
    "data_dir", "download", "limit_train_batches", "limit_val_batches", "val_size", "holdout", "verbose",
    "init_from", "freeze", *USER_DATA_SETTINGS,
)  # fmt: skip


def _list_flag(flag: str, text: str, example: str, minimum: int = 1) -> tuple[int, ...]:
    """A comma-separated list of distinct ints >= ``minimum``, or a one-line error naming the flag."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if not values or min(values) < minimum or len(set(values)) != len(values):
        raise ValueError(f"{flag} takes comma-separated distinct ints >= {minimum} such as {example}, got {text!r}")
    return values


def _cmd_compare(args: argparse.Namespace) -> int:
    import shlex
    from pathlib import Path

    from .config import setting_flags, setting_overrides

    if not args.print_config:
        from .experiments.compare import CompareOptions, compare

    seeds = _list_flag("--seeds", args.seeds, "0,1,2", minimum=0)
    sizes = tuple(sorted(_list_flag("--train-sizes", args.train_sizes, "500,2000,8000"))) if args.train_sizes else None
    models = None
    if args.models is not None:
        models = [m.strip() for m in args.models.split(",")]
        if not all(models):
            raise ValueError(f"--models takes comma-separated model names such as resnet18_cifar,aa_resnet18_cifar, "
                             f"got {args.models!r}")  # fmt: skip
    overrides = setting_overrides(args, COMPARE_SETTINGS)
    if args.print_config:
        from .config import describe_config, resolve_config
        from .experiments.compare import DEFAULT_MODELS

        for model in models or DEFAULT_MODELS.get(args.dataset, ()):
            config = resolve_config(args.recipe, dataset=args.dataset, model=model, **overrides)
            print(f"# {model}\n{describe_config(config)}\n")
        return 0
    options = CompareOptions(
        dataset=args.dataset,
        train_sizes=sizes,
        output=Path(args.output),
        models=models,
        seeds=seeds,
        recipe=args.recipe,
        protocol=Path(args.protocol) if args.protocol else None,
        overrides=overrides,
        train_flags=tuple(setting_flags(overrides)),
        command=" ".join(shlex.quote(a) for a in ["aacn", *sys.argv[1:]])
        if sys.argv[1:2] == ["compare"]
        else "aacn compare",
    )
    compare(options)
    return 0


def _cmd_attention_maps(args: argparse.Namespace) -> int:
    from .report.attention_maps import attention_figure

    maps, queries = attention_figure(args.checkpoint, args.image, args.output, args.layer, args.queries, args.ema)
    print(f"wrote {args.output} ({maps.layer}, {maps.weights.shape[0]} heads, {len(queries)} queries)")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from .bench.harness import format_measurements
    from .bench.measure import BenchSelection, run_benchmarks

    everything = args.all or not (args.layer or args.model or args.scaling or args.peers)
    selection = BenchSelection(
        layer=args.layer or everything,
        scaling=args.scaling or args.all,
        peers=args.peers or args.all,
        models=tuple(args.model or (("aa_resnet50", "aa_resnet18_cifar", "aa_wrn28_10") if args.all else ())),
        device=args.device,
        repeats=args.repeats,
        batch_sizes=tuple(args.batch_size),
        precisions=tuple(args.precision),
        modes=tuple(args.mode),
        channels_last=args.channels_last,
        compiled=args.compile,
    )
    rows = run_benchmarks(selection, memory_only=args.memory_only)
    if args.json:
        print(json.dumps({"device": args.device, "benchmarks": [r.as_json() for r in rows]}, indent=2))
    else:
        from .utils.hardware import describe_hardware

        print(format_measurements(rows))
        print(f"\n{describe_hardware()}; ratios against the first case of each benchmark")
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _int_list(text: str) -> tuple[int, ...]:
    """'32,128' -> (32, 128): positive, no repeats."""
    values = tuple(_positive_int(part.strip()) for part in text.split(","))
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"repeated value in {text!r}")
    return values


def _choice_list(choices: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        values = tuple(part.strip() for part in text.split(","))
        unknown = [v for v in values if v not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(f"{unknown[0]!r} is not one of {', '.join(choices)}")
        if len(set(values)) != len(values):
            raise argparse.ArgumentTypeError(f"repeated value in {text!r}")
        return values

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aacn", description="Attention Augmented Convolutional Networks (Bello et al., ICCV 2019)."
    )
    parser.add_argument("--version", action="version", version=f"aacn {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (or set AACN_DEBUG=1)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # --debug after the command too (`aacn train --debug ...`); SUPPRESS keeps the main parser's value otherwise
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    models = commands.add_parser(
        "models", parents=[common], help="list models with params and GFLOPs, paper figures beside ours"
    )
    models.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    models.add_argument("--filter", default=None, help="only models whose name contains this text")
    models.add_argument("--plot", metavar="PNG", help="also draw params and GFLOPs, plain vs AA, paper marked")
    models.set_defaults(func=_cmd_models)

    train = commands.add_parser("train", parents=[common], help="train a model (Lightning; torchrun works unchanged)")
    train.add_argument("--recipe", help="a packaged recipe's name or a YAML file; flags override its values")
    train.add_argument("--resume", action="store_true", help="continue the run in --output from its last.ckpt")
    train.add_argument(
        "--print-config", action="store_true",
        help="print every resolved setting and where it came from (default, recipe, flag, derived); run nothing",
    )  # fmt: skip
    add_setting_flags(train)
    train.set_defaults(func=_cmd_train)

    comparison = commands.add_parser(
        "compare", parents=[common], help="train models with one recipe and seeds; write a report"
    )
    comparison.add_argument(
        "--dataset", required=True,
        help="cifar10, cifar100, imagenet, digits, fake, svrt1, svrt2, motif_pairs, or your images: folder, hf:SOURCE",
    )  # fmt: skip
    comparison.add_argument("--models", help="comma-separated; default: the dataset's plain and AA pair")
    comparison.add_argument("--seeds", default="0", help="comma-separated seeds, e.g. 0,1,2")
    comparison.add_argument(
        "--train-sizes", help="a sample-efficiency study: train on the first N images for each N, e.g. 500,2000,8000"
    )
    comparison.add_argument("--output", required=True)
    comparison.add_argument("--recipe", help="default: the dataset's recipe")
    comparison.add_argument(
        "--protocol", help="the study's protocol file: the report records its sha256 and every commit that changed it"
    )
    comparison.add_argument(
        "--print-config", action="store_true",
        help="print each model's resolved settings and where they came from; run nothing",
    )  # fmt: skip
    add_setting_flags(comparison, COMPARE_SETTINGS)
    comparison.set_defaults(func=_cmd_compare)

    maps = commands.add_parser(
        "attention-maps", parents=[common], help="draw each head's attention for chosen query pixels"
    )
    maps.add_argument("--checkpoint", required=True)
    maps.add_argument("--image", required=True, help="any image Pillow reads; resized to the model's input size")
    maps.add_argument("--layer", help="augmented layer name, e.g. layer3.0.conv1 (default: the first)")
    maps.add_argument("--queries", nargs="+", metavar="Y,X", help="query pixels in the resized image")
    maps.add_argument("--output", required=True, help="PNG to write")
    maps.add_argument("--ema", action="store_true", help="use the EMA weights")
    maps.set_defaults(func=_cmd_attention_maps)

    benchmark = commands.add_parser(
        "bench", parents=[common], help="time and peak memory of the layer and models, side by side"
    )
    benchmark.add_argument("--layer", action="store_true", help="AugmentedConv2d paths vs the appendix algorithm")
    benchmark.add_argument("--model", action="append", help="a model and its plain twin, e.g. aa_resnet50 (repeatable)")
    benchmark.add_argument("--scaling", action="store_true", help="peak memory as the grid grows: 14, 28, 56")
    benchmark.add_argument(
        "--peers", action="store_true", help="vs timm's BottleneckAttn and HaloAttn at 16x16, 28x28 and 56x56"
    )
    benchmark.add_argument(
        "--all", action="store_true", help="layer, scaling, peers, aa_resnet50, aa_resnet18_cifar and aa_wrn28_10"
    )
    benchmark.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    benchmark.add_argument("--repeats", type=_positive_int, default=5, help="timed runs per case (median reported)")
    benchmark.add_argument(
        "-b", "--batch-size", type=_int_list, default=(), metavar="B[,B...]",
        help="batches of the model benchmarks (default: 32,128 for 32x32 models, 8 for 224x224)",
    )  # fmt: skip
    benchmark.add_argument(
        "--precision", type=_choice_list(PRECISIONS), default=("32",), metavar="P[,P...]",
        help=f"model benchmarks' precisions, of {', '.join(PRECISIONS)} (default: 32)",
    )  # fmt: skip
    benchmark.add_argument(
        "--mode", type=_choice_list(MODES), default=("train",), metavar="M[,M...]",
        help="train (a training step) and/or eval (an inference batch); default: train",
    )  # fmt: skip
    benchmark.add_argument(
        "--no-channels-last", dest="channels_last", action="store_false",
        help="run the models in contiguous (NCHW) memory format instead of channels-last",
    )  # fmt: skip
    benchmark.add_argument("--compile", action="store_true", help="torch.compile the models (the first run compiles)")
    benchmark.add_argument("--json", action="store_true")
    benchmark.add_argument("--memory-only", action="store_true", help=argparse.SUPPRESS)
    benchmark.set_defaults(func=_cmd_bench)

    evaluate = commands.add_parser(
        "eval", parents=[common], help="evaluate a checkpoint on a dataset's validation split"
    )
    evaluate.add_argument("--checkpoint", required=True)
    evaluate.add_argument("--dataset", required=True)
    evaluate.add_argument("--data-dir")
    evaluate.add_argument("-b", "--batch-size", type=int, default=256)
    evaluate.add_argument("-j", "--workers", type=int, default=2)
    evaluate.add_argument("--accelerator", default="auto")
    evaluate.add_argument("--ema", action="store_true", help="evaluate the EMA weights")
    evaluate.add_argument(
        "--json", action="store_true", help="print one JSON object (top1, top5, loss, images_per_sec)"
    )
    evaluate.set_defaults(func=_cmd_eval)

    predictor = commands.add_parser(
        "predict", parents=[common], help="classify images with a checkpoint or a saved model: one CSV row per image"
    )
    predictor.add_argument("images", nargs="+", help="image files and folders (searched recursively)")
    predictor.add_argument("--model", required=True, help="a training checkpoint (.ckpt) or a save_pretrained folder")
    predictor.add_argument("--output", default="predictions.csv", help="the CSV: path, class, probability, top-k")
    predictor.add_argument("--top-k", type=int, default=5, help="classes listed per image, most probable first")
    predictor.add_argument("-b", "--batch-size", type=int, default=64)
    predictor.add_argument("-j", "--workers", type=int, default=0)
    predictor.add_argument("--device", default="auto", help="auto (a GPU if there is one), cpu, cuda, cuda:1, ...")
    predictor.set_defaults(func=_cmd_predict)

    sharder = commands.add_parser(
        "shards", parents=[common], help="write a folder of images as WebDataset tar shards (--dataset shards:DIR)"
    )
    sharder.add_argument("--data-dir", required=True, help="DIR/<class>/<image>, or DIR/train/ and DIR/val/")
    sharder.add_argument("--output", required=True, help="a new folder for the shards and dataset.json")
    sharder.add_argument("--val-fraction", type=float, help="one tree: the share of each class held out (default 0.2)")
    sharder.add_argument("--shard-size", type=int, default=1000, help="images per shard")
    sharder.set_defaults(func=_cmd_shards)

    export = commands.add_parser(
        "export", parents=[common], help="write a checkpoint's model as a save_pretrained folder or as ONNX"
    )
    export.add_argument("--checkpoint", required=True)
    export.add_argument(
        "--format", choices=["pretrained", "onnx", "hf", "safetensors"], default="pretrained",
        help="pretrained: model.safetensors + config.json in a folder (hf is its old name; safetensors, the old pair "
        "of files, now writes the folder too); onnx: an ONNX model with a dynamic batch",
    )  # fmt: skip
    export.add_argument("--dynamo", action="store_true", help="onnx: use the dynamo-based exporter (opset 18)")
    export.add_argument(
        "--output", help="the folder (pretrained) or the file without suffix (onnx); default: beside the checkpoint"
    )
    export.add_argument("--ema", action="store_true", help="export the EMA weights")
    export.set_defaults(func=_cmd_export)
    return parser


# Exit statuses: 0 done, 1 an internal error (a bug: please report it), 2 a usage error (a flag, a setting, a missing
# extra), 3 a data or training failure (a dataset, a checkpoint, a write, a NaN loss), 128 + N stopped by signal N.
EXIT_INTERNAL, EXIT_USAGE, EXIT_FAILURE = 1, 2, 3


def exit_code_of(error: BaseException) -> int | None:
    """The exit status for an error a user or the machine can cause; None for anything else (a bug)."""
    code = getattr(error, "exit_code", None)
    if isinstance(code, int):
        return code
    if isinstance(error, (ValueError, ModuleNotFoundError)):
        return EXIT_USAGE
    if isinstance(error, OSError):
        return EXIT_FAILURE
    return None


def main(argv: list[str] | None = None) -> int:
    """Run one command. Errors print one line (``aacn: error: ...``) and set the exit status; ``--debug`` or
    AACN_DEBUG=1 shows the traceback instead."""
    args = build_parser().parse_args(argv)
    debug = bool(getattr(args, "debug", False)) or os.environ.get("AACN_DEBUG", "") not in ("", "0")
    try:
        return args.func(args)
    except KeyboardInterrupt:
        if debug:
            raise
        print("aacn: interrupted", file=sys.stderr)
        return 128 + 2
    except Exception as error:
        if debug:
            raise
        code = exit_code_of(error)
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        if code is None:
            print(
                f"aacn: internal error: {type(error).__name__}: {first} (run again with --debug for the traceback, "
                f"and please report it)",
                file=sys.stderr,
            )
            return EXIT_INTERNAL
        print(f"aacn: {'' if code >= 128 else 'error: '}{first}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
