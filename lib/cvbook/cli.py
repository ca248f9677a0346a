"""The `cvbook` command. Each subcommand lives with its subpackage (`<pkg>/cli.py`
defines `register(subparsers)`), so this file only lists them."""

from __future__ import annotations

import argparse
import importlib
import sys

def add_option(parser: argparse.ArgumentParser, name: str, *older: str, **kwargs) -> argparse.Action:
    """Add the option `name`, spelt in kebab-case (`--batch-size`). Its snake_case spelling
    (`--batch_size`) and any `older` names (`--dest`) are accepted too: hidden from the list of
    options, and named in the option's help as older spellings."""
    kwargs.setdefault("dest", name.lstrip("-").replace("-", "_"))
    aliases = [a for a in dict.fromkeys(("--" + name[2:].replace("-", "_"), *older)) if a != name]
    if aliases and kwargs.get("help") is not argparse.SUPPRESS:
        said = "older spelling" + ("s" if len(aliases) > 1 else "") + ": " + ", ".join(aliases)
        kwargs["help"] = f"{kwargs['help']} ({said})" if kwargs.get("help") else f"({said})"
    action = parser.add_argument(name, **kwargs)
    for alias in aliases:
        parser.add_argument(alias, **{**kwargs, "help": argparse.SUPPRESS, "required": False})
    return action


def require_course_tools(command: str) -> None:
    """Grading and the dashboard run on nbgrader and Jupyter, which the plain library does not
    install: say how to get them instead of failing on an import."""
    import importlib.util

    missing = [m for m in ("nbformat", "nbgrader", "nbclient") if importlib.util.find_spec(m) is None]
    if missing:
        raise ValueError(f"`cvbook {command}` needs the course's grading tools ({', '.join(missing)} are not "
                         "installed): pip install 'cvbook[course]' (from the course repository: pip install './lib[course]')")


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
        try:
            importlib.import_module(module).register(sub)
        except ModuleNotFoundError as err:
            if (err.name or "cvbook").split(".")[0] == "cvbook":
                raise  # a bug of the package itself, not a missing extra
            # Grading runs on nbgrader, which the plain library does not install: the command is
            # still listed, and running it says what to install.
            for name in (c for c, m in SUBCOMMANDS.items() if m == module):
                needs = sub.add_parser(name, help="(needs the course tools: pip install 'cvbook[course]')",
                                       add_help=False)
                needs.add_argument("rest", nargs=argparse.REMAINDER)
                needs.set_defaults(func=lambda args: require_course_tools(args.command))
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
