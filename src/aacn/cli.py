"""The ``aacn`` command. Thin: it parses arguments and calls the package; user errors print one line, exit 2."""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import __version__


def _cmd_models(args: argparse.Namespace) -> int:
    from .models import list_models
    from .report.models_table import format_markdown, model_rows

    names = None
    if args.filter:
        names = [name for name in list_models() if args.filter in name]
        if not names:
            raise ValueError(f"no model name contains {args.filter!r}; `aacn models` lists them all")
    rows = model_rows(names)
    if args.json:
        print(json.dumps({"models": [row.as_json() for row in rows]}, indent=2))
    else:
        print(format_markdown(rows))
        print(
            "\nGFLOPs = 2 x multiply-adds of one image at the model's input size, counted by "
            "torch.utils.flop_counter (attention matmuls included); paper figures from Bello et al. 2019."
        )
    return 0


def _model_args(pairs: list[str] | None) -> dict | None:
    """--model-arg key=value pairs; values are read as YAML (0.25, true, [2, 3])."""
    if not pairs:
        return None
    import yaml

    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--model-arg takes key=value, got {pair!r} (e.g. --model-arg key_ratio=0.25)")
        parsed[key.strip()] = yaml.safe_load(value)
    return parsed


def _cmd_train(args: argparse.Namespace) -> int:
    from .engine import resolve_config, train

    milestones = [int(m) for m in args.milestones.split(",")] if args.milestones else None
    config = resolve_config(
        args.recipe,
        model=args.model,
        dataset=args.dataset,
        data_dir=args.data_dir,
        download=args.download,
        output=args.output,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        lr=args.lr,
        momentum=args.momentum,
        nesterov=args.nesterov,
        weight_decay=args.weight_decay,
        label_smoothing=args.label_smoothing,
        scheduler=args.scheduler,
        milestones=milestones,
        gamma=args.gamma,
        warmup_epochs=args.warmup_epochs,
        ema_decay=args.ema_decay,
        grad_clip=args.grad_clip,
        precision=args.precision,
        channels_last=args.channels_last,
        compile=args.compile,
        seed=args.seed,
        deterministic=args.deterministic,
        num_workers=args.workers,
        accelerator=args.accelerator,
        devices=args.devices,
        num_nodes=args.num_nodes,
        strategy=args.strategy,
        image_size=args.image_size,
        model_args=_model_args(args.model_arg),
        limit_train_batches=args.limit_train_batches,
        limit_val_batches=args.limit_val_batches,
    )
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


def _cmd_export(args: argparse.Namespace) -> int:
    from .engine import export_safetensors

    written = export_safetensors(args.checkpoint, args.output, ema=args.ema)
    print(f"wrote {written['weights']} and {written['config']}")
    return 0


def _add_train_flags(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--model", help="model name (aacn models lists them)")
    add("--dataset", help="cifar10, cifar100, imagenet, digits or fake")
    add("--data-dir", help="folder holding the dataset (default ./data)")
    add("--download", action="store_true", default=None, help="download the dataset if missing (CIFAR)")
    add("--recipe", help="a recipe name from recipes/ or a YAML path; flags override its values")
    add("--output", help="run folder: last.ckpt, best.ckpt, metrics.csv, config.yaml, results.json")
    add("--resume", action="store_true", help="continue the run in --output from its last.ckpt")
    add("--epochs", type=int)
    add("-b", "--batch-size", type=int, help="images per device and step")
    add("--optimizer", choices=["sgd", "adamw"])
    add("--lr", type=float, help="base learning rate")
    add("--momentum", type=float)
    add("--nesterov", action=argparse.BooleanOptionalAction, default=None)
    add("--wd", "--weight-decay", dest="weight_decay", type=float, help="not applied to norms, biases, rel tables")
    add("--label-smoothing", type=float)
    add("--scheduler", choices=["cosine", "multistep", "constant"])
    add("--milestones", help="epochs at which multistep multiplies the lr by --gamma, e.g. 60,120,160")
    add("--gamma", type=float)
    add("--warmup-epochs", type=float, help="linear warm-up length, in epochs")
    add("--ema-decay", type=float, help="keep EMA weights with this decay and evaluate them too (0: off)")
    add("--grad-clip", type=float, help="clip the gradient norm to this value (0: off)")
    add("--precision", choices=["32", "bf16-mixed", "16-mixed"])
    add("--channels-last", action="store_true", default=None)
    add("--compile", action="store_true", default=None, help="torch.compile the model")
    add("--seed", type=int)
    add("--deterministic", action="store_true", default=None, help="deterministic algorithms only")
    add("-j", "--workers", type=int, help="data loading worker processes per device")
    add("--accelerator", help="cpu, gpu, auto")
    add("--devices", help="'auto', a count, or a list such as 0,1")
    add("--num-nodes", type=int)
    add("--strategy", help="auto, ddp, ddp_spawn, fsdp, ...")
    add("--image-size", type=int, help="training image side (default: the dataset's)")
    add("--model-arg", action="append", metavar="KEY=VALUE", help="create_model override, e.g. key_ratio=0.25")
    add("--limit-train-batches", type=float, help="fraction (<= 1) or count of training batches per epoch")
    add("--limit-val-batches", type=float, help="fraction (<= 1) or count of validation batches")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aacn", description="Attention Augmented Convolutional Networks (Bello et al., ICCV 2019)."
    )
    parser.add_argument("--version", action="version", version=f"aacn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    models = commands.add_parser("models", help="list models with params and GFLOPs, paper figures beside ours")
    models.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    models.add_argument("--filter", default=None, help="only models whose name contains this text")
    models.set_defaults(func=_cmd_models)

    train = commands.add_parser("train", help="train a model (Lightning; torchrun works unchanged)")
    _add_train_flags(train)
    train.set_defaults(func=_cmd_train)

    evaluate = commands.add_parser("eval", help="evaluate a checkpoint on a dataset's validation split")
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

    export = commands.add_parser("export", help="write a checkpoint's bare weights")
    export.add_argument("--checkpoint", required=True)
    export.add_argument("--format", choices=["safetensors"], default="safetensors")
    export.add_argument("--output", help="output path without suffix (default: beside the checkpoint)")
    export.add_argument("--ema", action="store_true", help="export the EMA weights")
    export.set_defaults(func=_cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"aacn: error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        from .engine import TrainingInterrupted
        from .engine.callbacks import NonFiniteLossError

        if isinstance(error, TrainingInterrupted):
            print(f"aacn: {error}", file=sys.stderr)
            return error.exit_code
        if isinstance(error, NonFiniteLossError):
            print(f"aacn: error: {error}", file=sys.stderr)
            return 3
        raise


if __name__ == "__main__":
    sys.exit(main())
