"""The `cvbook` command. Each subcommand lives with its subpackage (`<pkg>/cli.py`
defines `register(subparsers)`), so this file only lists them."""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> module whose register(subparsers) adds that subcommand
SUBCOMMANDS = {
    "data": "cvbook.data.cli",
    "models": "cvbook.models.cli",
    "train": "cvbook.train.cli",
    "test": "cvbook.evaluate.cli",
    "infer": "cvbook.evaluate.cli",
    "plot": "cvbook.evaluate.cli",
    "compare": "cvbook.evaluate.cli",
    "compress": "cvbook.compress.cli",
    "grade": "cvbook.grading.cli",
    "dashboard": "cvbook.grading.dashboard",
    "edition": "cvbook.grading.edition",
    "feedback": "cvbook.grading.feedback",
    "export": "cvbook.grading.export",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with every subcommand, or only with the module that defines `command`:
    each module imports torch and more, so `cvbook data info` need not load the grader."""
    parser = argparse.ArgumentParser(
        prog="cvbook", description="Train, evaluate and compress the course's image classifiers."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = [SUBCOMMANDS[command]] if command in SUBCOMMANDS else dict.fromkeys(SUBCOMMANDS.values())
    for module in modules:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError) as err:
        # Bad input: one clear line, no traceback (the message names the file or value).
        print(f"cvbook {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
