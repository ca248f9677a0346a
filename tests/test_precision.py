"""Precision by capability and the record of the CPU a run used: "auto" takes bfloat16 only
where the hardware runs it natively, an explicit bf16 request where it would be emulated is
warned about, and every run's history and checkpoints say what it ran on. The capability
check is replaced both ways, so these tests mean the same on any CPU. No timings asserted."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from torch import nn

from cvbook import hardware
from cvbook.data import ImageSet
from cvbook.files import load_checkpoint
from cvbook.train import TrainConfig, train
from cvbook.train.precision import choose_precision, step_seconds


def tiny_data(n: int = 64, seed: int = 0) -> ImageSet:
    g = torch.Generator().manual_seed(seed)
    return ImageSet(torch.randint(0, 255, (n, 1, 8, 8), generator=g, dtype=torch.uint8),
                    torch.arange(n) % 2, ("a", "b"))


def tiny_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))


def cfg(**kw) -> TrainConfig:
    return TrainConfig(**{"epochs": 1, "batch_size": 16, "lr": 0.05, "progress": False, "device": "cpu", **kw})


@pytest.fixture
def native(monkeypatch):
    """native(True/False): pretend the CPU does (not) run bfloat16 natively."""
    def set_native(value: bool):
        monkeypatch.setattr(hardware, "bf16_native", lambda: value)
    return set_native


@pytest.mark.parametrize("is_native, expected", [(True, "bf16"), (False, "float32")])
def test_auto_takes_bf16_only_where_it_is_native(native, is_native, expected):
    native(is_native)
    choice = choose_precision("auto", "cpu")
    assert choice.name == expected and not choice.emulated
    assert choice.reason.startswith("auto: ") and hardware.cpu_class() in choice.reason
    assert choice.line().startswith(f"precision: {expected} (auto: ")


@pytest.mark.parametrize("is_native", [True, False])
def test_explicit_requests_are_taken_as_asked(native, is_native):
    native(is_native)
    assert choose_precision("float32").name == "float32"
    bf16 = choose_precision("bf16")
    assert bf16.name == "bf16" and bf16.emulated is (not is_native)
    with pytest.raises(ValueError, match="precision='fp8'"):
        choose_precision("fp8")


def test_run_without_native_bf16_trains_in_float32_and_says_why(native, capsys):
    native(False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # auto never warns
        history = train(tiny_net(), tiny_data(), tiny_data(16, seed=1), cfg(progress=True))
    assert "precision: float32 (auto: this CPU (" in capsys.readouterr().out
    assert history["runs"][0]["precision"] == "float32"


def test_explicit_bf16_without_native_support_warns_with_the_measured_slowdown(native):
    native(False)
    with pytest.warns(RuntimeWarning, match=r"bf16 was requested.*emulated.*x slower.*precision 'auto'"):
        history = train(tiny_net(), tiny_data(), tiny_data(16, seed=1), cfg(precision="bf16"))
    assert history["runs"][0]["precision"] == "bf16"  # as asked: the warning does not overrule


def test_explicit_bf16_on_native_hardware_does_not_warn(native):
    native(True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        train(tiny_net(), tiny_data(), tiny_data(16, seed=1), cfg(bf16=True))


def test_measuring_the_slowdown_leaves_training_unchanged():
    """The few measured steps run on a copy, outside the random stream of the run."""
    net = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(64, 2))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x, y = torch.randn(8, 1, 8, 8), torch.zeros(8, dtype=torch.long)
    torch.manual_seed(5)
    times = step_seconds(net, x, y)
    after = torch.rand(3)
    assert set(times) == {"float32", "bf16"} and all(t > 0 for t in times.values())
    torch.manual_seed(5)
    assert torch.equal(after, torch.rand(3))
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())


def test_the_cpu_and_precision_land_in_the_run_metadata(tmp_path):
    history = train(tiny_net(), tiny_data(), tiny_data(16, seed=1), cfg(epochs=1), tmp_path)
    run = history["runs"][0]
    assert run["from_epoch"] == 0 and run["precision_requested"] == "auto"
    assert run["cpu"]["isa"] == torch.backends.cpu.get_cpu_capability()
    assert run["cpu"]["bf16_native"] == hardware.bf16_native()
    assert run["cpu"]["threads"] == torch.get_num_threads() and run["cpu"]["class"] == hardware.cpu_class()
    assert json.loads((tmp_path / "history.json").read_text())["runs"] == [run]
    assert load_checkpoint(tmp_path / "last.pth")["history"]["runs"] == [run]
    assert load_checkpoint(tmp_path / "best_model.pth")["runs"] == [run]
    assert torch.load(tmp_path / "best_model.pth", weights_only=True)["runs"] == [run]  # plain data only
    # a resumed run adds the record of its own start
    resumed = train(tiny_net(), tiny_data(), tiny_data(16, seed=1), cfg(epochs=2), tmp_path,
                    resume=tmp_path / "last.pth")
    assert [r["from_epoch"] for r in resumed["runs"]] == [0, 1]


def test_config_precision_and_its_bf16_alias():
    assert cfg().precision == "auto" and not cfg().bf16
    assert cfg(bf16=True).precision == "bf16" and cfg(precision="bf16").bf16
    with pytest.raises(ValueError, match="precision='half'"):
        cfg(precision="half")
    with pytest.raises(ValueError, match="bf16=True with precision='float32'"):
        cfg(bf16=True, precision="float32")
    # a configuration saved before `precision` existed resumes as it ran
    assert TrainConfig.from_dict({"bf16": False}).precision == "float32"
    assert TrainConfig.from_dict({"bf16": True}).precision == "bf16"
    assert TrainConfig.from_dict({"precision": "auto", "bf16": False}).precision == "auto"


def test_cli_precision_option_and_bf16_alias():
    import argparse

    from cvbook.train import cli

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    for argv, expected in ((["train"], "auto"), (["train", "--precision", "float32"], "float32"),
                           (["train", "--bf16"], "bf16")):
        assert TrainConfig.from_dict(vars(parser.parse_args(argv))).precision == expected


def test_cpu_info_and_class():
    info = hardware.cpu_info()
    assert info["isa"] == torch.backends.cpu.get_cpu_capability()
    assert {"model", "arch", "bf16_native", "vnni", "amx", "cores", "threads", "torch", "class"} <= info.keys()
    assert info["class"] in hardware.describe(info)
    assert hardware.cpu_class({"isa": "AVX2", "bf16_native": False}) == "AVX2, no native bf16"
    assert hardware.cpu_class({"isa": "AVX512", "bf16_native": True, "vnni": True, "amx": True}) \
        == "AVX-512, native bf16, VNNI, AMX"
    assert hardware.cpu_class({"isa": "DEFAULT", "arch": "aarch64", "bf16_native": True}) == "ARM, native bf16"
    assert hardware.class_slug({"isa": "AVX512", "bf16_native": True, "vnni": True}) == "avx512-bf16-vnni"


def test_onednn_held_below_avx512_has_no_native_bf16(monkeypatch):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    assert hardware.bf16_native() is False
    info = hardware.cpu_info()
    assert info["held"] == {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    assert "held by" in info["class"] and hardware.class_slug(info).endswith("-held")
    # a CPU's VNNI and AMX go unused by oneDNN held to AVX2: the class does not claim them
    held = {"isa": "AVX2", "bf16_native": False, "vnni": True, "amx": True,
            "held": {"ONEDNN_MAX_CPU_ISA": "AVX2"}}
    assert hardware.cpu_class(held) == "AVX2, no native bf16, held by ONEDNN_MAX_CPU_ISA=AVX2"
    assert hardware.class_slug(held) == "avx2-held"
    held["held"] = {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_VNNI"}
    assert hardware.class_slug({**held, "isa": "AVX512"}) == "avx512-vnni-held"
