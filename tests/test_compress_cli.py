"""`cvbook compress prune|quantize|export` on a (untrained) Tiniest checkpoint and Fashion-MNIST."""

import pytest
import torch

from cvbook.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning",
                                        "ignore::FutureWarning")

FAST = ["--calibration-batches", "2", "--batch-size", "16"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A checkpoint as `cvbook train` writes it: weights plus the description of the model."""
    from cvbook.models import create_model

    torch.manual_seed(0)
    model = create_model("tiniest", num_classes=10, in_chans=1, img_size=28)
    meta = {"model": "tiniest", "num_classes": 10, "in_chans": 1, "img_size": 28,
            "mean": [0.286], "std": [0.353], "dataset": "fashion-mnist"}
    path = tmp_path_factory.mktemp("ckpt") / "best_model.pth"
    torch.save({"model": model.state_dict(), "meta": meta}, path)
    return path


@pytest.fixture(scope="module")
def state_dict_file(checkpoint):
    path = checkpoint.with_name("weights.pth")
    torch.save(torch.load(checkpoint, weights_only=False)["model"], path)
    return path


def test_prune_writes_a_checkpoint_with_the_requested_sparsity(checkpoint, tmp_path, capsys):
    from cvbook.compress.prune import sparsity_report
    from cvbook.files import load_trained_model

    out = tmp_path / "pruned.pth"
    assert main(["compress", "prune", str(checkpoint), "--amount", "0.5", "--global-pruning", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "total" in printed and "dense+gzip" in printed
    model, meta = load_trained_model(out)  # still a cvbook checkpoint
    assert meta["model"] == "tiniest"
    assert sparsity_report(model)["total"]["sparsity"] == pytest.approx(0.5, abs=1e-4)


def test_prune_plain_state_dict_needs_model_name(state_dict_file, tmp_path, capsys):
    out = tmp_path / "pruned.pth.gz"
    assert main(["compress", "prune", str(state_dict_file), "-o", str(out)]) == 2
    assert "--model" in capsys.readouterr().err
    assert main(["compress", "prune", str(state_dict_file), "--model", "tiniest", "--compressed",
                 "-o", str(out)]) == 0
    from cvbook.compress.size import load_compressed

    restored, original = load_compressed(out), torch.load(state_dict_file)
    assert restored.keys() == original.keys()
    zeros = sum(int((v == 0).sum()) for v in restored.values() if v.is_floating_point())
    assert zeros > 0.25 * sum(v.numel() for v in original.values())  # 30 % of conv/linear weights


def test_quantize_static_writes_a_smaller_int8_program(checkpoint, tmp_path, capsys):
    from cvbook.compress.quantize import load_quantized

    out = tmp_path / "int8.pt2"
    assert main(["compress", "quantize", str(checkpoint), *FAST, "--evaluate", "32", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "int8 accuracy on 32 test images" in printed and "state_dict float" in printed
    int8 = load_quantized(out)
    assert int8(torch.randn(3, 1, 28, 28)).shape == (3, 10)
    assert any(t.dtype == torch.int8 for t in int8.state_dict().values())


def test_export_onnx_float_and_int8(checkpoint, tmp_path, capsys):
    from cvbook.compress.onnx_export import OnnxModel

    out = tmp_path / "model.onnx"
    assert main(["compress", "export", str(checkpoint), "-o", str(out)]) == 0
    assert "largest difference from PyTorch" in capsys.readouterr().out
    assert OnnxModel(out)(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    out8 = tmp_path / "model.int8.onnx"
    assert main(["compress", "export", str(checkpoint), "--int8", *FAST, "-o", str(out8)]) == 0
    assert out8.stat().st_size < out.stat().st_size
    # the weights really are int8: nearly every float32 weight of the float file became one
    # (the Tiniest's int8 file is still ~half the float one: its many small ops make a large graph)
    float_weights, int8_weights = (_initializer_elements(p) for p in (out, out8))
    assert int8_weights.get("int8", 0) > 0.95 * float_weights["float32"]
    assert int8_weights.get("float32", 0) < 0.05 * float_weights["float32"]


def _initializer_elements(path) -> dict[str, int]:
    import onnx

    counts: dict[str, int] = {}
    for tensor in onnx.load(str(path)).graph.initializer:
        array = onnx.numpy_helper.to_array(tensor)
        counts[str(array.dtype)] = counts.get(str(array.dtype), 0) + array.size
    return counts


def test_bad_files_give_one_clear_line(tmp_path, capsys):
    assert main(["compress", "prune", str(tmp_path / "absent.pth"), "-o", str(tmp_path / "x.pth")]) == 2
    assert "absent.pth" in capsys.readouterr().err
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    assert main(["compress", "quantize", str(junk), "-o", str(tmp_path / "x.pt2")]) == 2
    assert "junk.pth" in capsys.readouterr().err


def test_a_saved_program_can_be_exported_and_quantized(tmp_path, capsys):
    """A .pt2 program (what `prune --structured` writes) needs no Python class to go on."""
    from torch import nn

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(8, 10)).eval()
    program = tmp_path / "net.pt2"
    batch = {0: torch.export.Dim("batch")}
    torch.export.save(torch.export.export(net, (torch.randn(2, 1, 28, 28),), dynamic_shapes=(batch,)), program)
    assert main(["compress", "export", str(program), "-o", str(tmp_path / "net.onnx")]) == 0
    assert main(["compress", "quantize", str(program), *FAST, "-o", str(tmp_path / "net.int8.pt2")]) == 0
    assert (tmp_path / "net.int8.pt2").is_file()
