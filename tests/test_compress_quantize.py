"""int8 quantization (PT2E static, QAT, dynamic) and ONNX export / ONNX Runtime, on tiny models.

torch.compile is not exercised here (a cold compile takes tens of seconds on two cores);
the benchmark measures the compiled speed.
"""

import pytest
import torch
from torch import nn

from nets import residual_cnn

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning",
                                        "ignore::FutureWarning")


def conv_net(width=32):
    """~112K parameters: conv-bn-relu, residual block, strided conv, residual block, linear head."""
    model = residual_cnn(width)
    # give BatchNorm non-trivial statistics, as training would
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(16, 1, 28, 28))
    return model.eval()


@pytest.fixture(scope="module")
def model():
    return conv_net()


@pytest.fixture(scope="module")
def calibration():
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(16, 1, 28, 28, generator=g), torch.zeros(16, dtype=torch.long)) for _ in range(4)]


@pytest.fixture(scope="module")
def int8(model, calibration):
    from cvbook.compress.quantize import quantize_static

    return quantize_static(model, calibration, num_batches=3)


def agreement(a, b):
    return float((a.argmax(1) == b.argmax(1)).float().mean())


def test_static_int8_agrees_with_float_at_any_batch_size(model, int8):
    g = torch.Generator().manual_seed(2)
    for batch in (1, 5, 32):  # calibrated at 16
        x = torch.randn(batch, 1, 28, 28, generator=g)
        with torch.no_grad():
            ref, out = model(x), int8(x)
        assert out.shape == ref.shape
        assert (out - ref).abs().max() < 0.1 * ref.abs().max()
    x = torch.randn(64, 1, 28, 28, generator=g)
    with torch.no_grad():
        assert agreement(int8(x), model(x)) >= 0.9


def test_static_int8_weights_are_int8_and_the_state_dict_is_over_3x_smaller(model, int8):
    from cvbook.compress.size import size_on_disk

    assert sum(p.numel() for p in model.parameters()) > 100_000
    int8_weights = [t for t in int8.state_dict().values() if t.dtype == torch.int8]
    assert sum(t.numel() for t in int8_weights) > 100_000
    assert not any(t.dtype == torch.float32 and t.numel() > 1000 for t in int8.state_dict().values())
    assert size_on_disk(model) > 3 * size_on_disk(int8)


def test_quantization_leaves_the_float_model_alone(model, calibration):
    from cvbook.compress.quantize import quantize_static

    before = {k: v.clone() for k, v in model.state_dict().items()}
    quantize_static(model, [calibration[0][0]])
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not model.training


def test_save_and_load_int8_program(tmp_path, model, int8, calibration):
    from cvbook.compress.quantize import load_quantized, quantize_static, save_quantized
    from cvbook.compress.size import file_size

    path = save_quantized(int8, tmp_path / "int8.pt2", calibration[0][0])
    loaded = load_quantized(path)
    x = torch.randn(3, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(loaded(x), int8(x))
    float_program = tmp_path / "float.pt2"
    torch.export.save(torch.export.export(conv_net(), (x,)), float_program)
    assert file_size(path) < file_size(float_program)
    # a program exported for one batch size is saved with an example of that size
    static = quantize_static(model, [calibration[0][0]], dynamic_batch=False)
    batch = calibration[0][0]
    static_path = save_quantized(static, tmp_path / "static.pt2", batch, dynamic_batch=False)
    with torch.no_grad():
        assert torch.equal(load_quantized(static_path)(batch), static(batch))
    with pytest.raises(FileNotFoundError, match="nothing.pt2"):
        load_quantized(tmp_path / "nothing.pt2")
    (tmp_path / "junk.pt2").write_bytes(b"junk")
    with pytest.raises(ValueError, match="junk.pt2"):
        load_quantized(tmp_path / "junk.pt2")


def test_bad_calibration_is_explained(model):
    from cvbook.compress.quantize import quantize_static

    with pytest.raises(ValueError, match="no calibration batches"):
        quantize_static(model, [])
    with pytest.raises(ValueError, match="same size"):
        quantize_static(model, [torch.randn(4, 1, 28, 28), torch.randn(3, 1, 28, 28)], dynamic_batch=False)
    with pytest.raises(ValueError, match="tensors"):
        quantize_static(model, ["images"])


def test_quantization_aware_training_trains_and_converts():
    from cvbook.compress.quantize import convert_qat, prepare_qat
    from cvbook.compress.size import size_on_disk

    torch.manual_seed(0)
    # no BatchNorm: folding BN for QAT costs ~30 s of pattern matching on two cores
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, stride=2, padding=1),
                          nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 2))
    x = torch.randn(32, 1, 12, 12)
    y = (x.mean(dim=(1, 2, 3)) > 0).long()
    x = x + y.view(-1, 1, 1, 1) * 0.5  # a learnable signal
    qat = prepare_qat(model, x[:8])
    opt = torch.optim.SGD(qat.parameters(), lr=0.1)
    losses = []
    for _ in range(15):
        loss = nn.functional.cross_entropy(qat(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    int8 = convert_qat(qat)
    with torch.no_grad():
        out = int8(x)
    assert out.shape == (32, 2)
    assert any(t.dtype == torch.int8 for t in int8.state_dict().values())
    assert size_on_disk(int8) < size_on_disk(model)


def test_dynamic_quantization_converts_only_linear_layers():
    from cvbook.compress.quantize import quantize_dynamic

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 64), nn.ReLU(), nn.Linear(64, 3)).eval()
    dyn = quantize_dynamic(model)
    assert type(dyn[2].weight).__name__ != "Parameter" and dyn[2].weight.dtype == torch.float32  # int8 inside
    assert isinstance(dyn[0].weight, nn.Parameter)  # the convolution is untouched
    x = torch.randn(8, 1, 8, 8)
    with torch.no_grad():
        assert (dyn(x) - model(x)).abs().max() < 0.05
    assert isinstance(model[2].weight, nn.Parameter)  # the original stays float
    with pytest.raises(ValueError, match="nn.Linear"):
        quantize_dynamic(nn.Sequential(nn.Conv2d(1, 1, 1)))


# -- ONNX ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory, model):
    from cvbook.compress.onnx_export import export_onnx

    return export_onnx(model, torch.randn(1, 1, 28, 28), tmp_path_factory.mktemp("onnx") / "model.onnx")


def test_onnx_float_matches_eager_at_any_batch_size(model, onnx_file):
    from cvbook.compress.onnx_export import OnnxModel

    assert not onnx_file.with_name("model.onnx.data").exists()  # one self-contained file
    session = OnnxModel(onnx_file, threads=1)
    for batch in (1, 7):
        x = torch.randn(batch, 1, 28, 28)
        with torch.no_grad():
            assert torch.allclose(session(x), model(x), atol=1e-4, rtol=1e-4)


def test_onnx_int8_is_smaller_and_agrees(model, onnx_file, calibration, tmp_path):
    import onnx

    from cvbook.compress.onnx_export import OnnxModel, quantize_onnx

    path = quantize_onnx(onnx_file, tmp_path / "int8.onnx", calibration, num_batches=3)
    for written in (onnx_file, path):  # the exporter's per-node debugging notes are stripped
        assert not any(node.metadata_props for node in onnx.load(str(written)).graph.node)
    assert onnx_file.stat().st_size > 3 * path.stat().st_size
    x = torch.randn(64, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ref = model(x)
    out = OnnxModel(path)(x)
    assert agreement(out, ref) >= 0.9
    assert (out - ref).abs().max() < 0.1 * ref.abs().max()


def test_onnx_bad_input(tmp_path, model):
    from cvbook.compress.onnx_export import OnnxModel, export_onnx, quantize_onnx

    with pytest.raises(FileNotFoundError, match="absent.onnx"):
        OnnxModel(tmp_path / "absent.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    with pytest.raises(ValueError, match="junk.onnx"):
        OnnxModel(tmp_path / "junk.onnx")
    with pytest.raises(FileNotFoundError, match="absent.onnx"):
        quantize_onnx(tmp_path / "absent.onnx", tmp_path / "out.onnx", [torch.zeros(1, 1, 28, 28)])
    with pytest.raises(ValueError, match="example"):
        export_onnx(model, torch.zeros(28), tmp_path / "m.onnx")
