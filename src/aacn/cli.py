"""The ``aacn`` command. Thin: it parses arguments and calls the package; user errors print one line, exit 2."""

from __future__ import annotations

import argparse
import json
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"aacn: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
