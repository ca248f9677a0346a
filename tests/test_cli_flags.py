"""One flag style across the `cvbook` command: every option is spelt in kebab-case, and the
older spellings (snake_case, and a few older names) are still accepted and named in --help."""

from __future__ import annotations

import argparse
import re

import pytest

from cvbook.cli import build_parser


def _parsers(parser: argparse.ArgumentParser, path=("cvbook",)):
    yield " ".join(path), parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


PARSERS = dict(_parsers(build_parser()))


def test_every_shown_option_is_kebab_case():
    shown = [(cmd, o) for cmd, p in PARSERS.items() for a in p._actions if a.help != argparse.SUPPRESS
             for o in a.option_strings if o.startswith("--")]
    assert shown and not [f"{cmd} {o}" for cmd, o in shown if not re.fullmatch(r"--[a-z0-9]+(-[a-z0-9]+)*", o)]


@pytest.mark.parametrize("argv, old, new, dest", [
    (["train"], "--batch_size", "--batch-size", "batch_size"),
    (["train"], "--mixup_cutmix_alpha", "--mixup-cutmix-alpha", "mixup_cutmix_alpha"),
    (["train"], "--output_dir", "--out-dir", "output_dir"),
    (["test"], "--output_dir", "--out-dir", "output_dir"),
    (["data", "fetch", "fashion-mnist"], "--dest", "--out-dir", "dest"),
    (["dashboard"], "--out", "--output", "out"),
    (["export"], "--out", "--output", "out"),
    (["edition"], "--out", "--out-dir", "out"),
    (["compress", "quantize", "m.pth", "-o", "x.pt2"], "--calibration_batches", "--calibration-batches",
     "calibration_batches"),
])
def test_older_spellings_mean_the_same_and_are_documented(argv, old, new, dest):
    parser = build_parser(argv[0])
    value = "7"
    for flag in (old, new):
        assert str(getattr(parser.parse_args([*argv, flag, value]), dest)) in (value, value + ".0"), flag
    sub = PARSERS["cvbook " + " ".join(argv[:2] if argv[0] in ("data", "compress") else argv[:1])]
    assert old in sub.format_help(), f"{old} is not named in the help of {new}"


def test_store_false_options_keep_their_older_spelling():
    parser = build_parser("train")
    assert parser.parse_args(["train", "--no_flip"]).flip is False
    assert parser.parse_args(["train", "--no-flip"]).flip is False
    assert parser.parse_args(["train"]).flip is True


def test_train_options_come_from_the_train_config_fields():
    from dataclasses import MISSING, fields

    from cvbook.train.loop import TrainConfig

    parser = build_parser("train")
    defaults = vars(parser.parse_args(["train"]))
    for f in fields(TrainConfig):
        assert f.name in defaults, f"cvbook train has no option for TrainConfig.{f.name}"
        if f.default is not MISSING:
            assert defaults[f.name] == f.default, f.name
    assert TrainConfig.from_dict(defaults) == TrainConfig()  # no default is restated differently
    args = parser.parse_args(["train", "--batch-size", "32", "--no-flip", "--ema", "--bf16", "--optimizer", "adamw"])
    cfg = TrainConfig.from_dict(vars(args))
    assert (cfg.batch_size, cfg.flip, cfg.ema, cfg.bf16, cfg.optimizer) == (32, False, 0.999, True, "adamw")


def test_a_new_config_field_becomes_an_option():
    from dataclasses import dataclass

    from cvbook.train.cli import add_config_options
    from cvbook.train.loop import setting

    @dataclass
    class Config:
        precision_of_sums: str = setting("auto", "how sums are kept", choices=("auto", "float32"))
        steps: int | None = setting(None, "stop after this many steps")
        warm: bool = setting(True, "warm start")

    parser = argparse.ArgumentParser()
    add_config_options(parser, Config)
    assert vars(parser.parse_args([])) == {"precision_of_sums": "auto", "steps": None, "warm": True}
    assert vars(parser.parse_args(["--precision_of_sums", "float32", "--steps", "3", "--no-warm"])) == {
        "precision_of_sums": "float32", "steps": 3, "warm": False}
    assert "how sums are kept (default auto)" in " ".join(parser.format_help().split())
