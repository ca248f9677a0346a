"""cvbook.compress.quant_math agrees with torch's quantization, bit for bit."""

import pytest
import torch
from torch.ao.quantization.observer import MinMaxObserver, PerChannelMinMaxObserver

from cvbook.compress.quant_math import (
    choose_qparams,
    dequantize,
    fake_quantize,
    qrange,
    quantization_error,
    quantize,
)

# torch's quantized tensors and observers are the reference here; their deprecation is not news.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")


@pytest.fixture
def x():
    g = torch.Generator().manual_seed(0)
    return torch.randn(6, 5, 4, generator=g) * 2 + 0.7  # off-centre, so the zero-point matters


def test_qrange():
    assert qrange(8, True) == (-128, 127)
    assert qrange(8, False) == (0, 255)
    assert qrange(4, True) == (-8, 7)
    assert qrange(2, False) == (0, 3)
    for bad in (1, 9, 8.0):
        with pytest.raises(ValueError, match="bits"):
            qrange(bad)


@pytest.mark.parametrize("dtype,signed", [(torch.qint8, True), (torch.quint8, False)])
@pytest.mark.parametrize("symmetric", [False, True])
def test_per_tensor_qparams_match_observer(x, dtype, signed, symmetric):
    qscheme = torch.per_tensor_symmetric if symmetric else torch.per_tensor_affine
    observer = MinMaxObserver(dtype=dtype, qscheme=qscheme)
    observer(x)
    ref_scale, ref_zp = observer.calculate_qparams()
    scale, zp = choose_qparams(x, signed=signed, symmetric=symmetric)
    assert scale.dtype == torch.float32 and zp.dtype == torch.int64
    assert torch.equal(scale.reshape(1), ref_scale)
    assert torch.equal(zp.reshape(1), ref_zp)


@pytest.mark.parametrize("dtype,signed", [(torch.qint8, True), (torch.quint8, False)])
@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("axis", [0, 1])
def test_per_channel_qparams_match_observer(x, dtype, signed, symmetric, axis):
    qscheme = torch.per_channel_symmetric if symmetric else torch.per_channel_affine
    observer = PerChannelMinMaxObserver(ch_axis=axis, dtype=dtype, qscheme=qscheme)
    observer(x)
    ref_scale, ref_zp = observer.calculate_qparams()
    scale, zp = choose_qparams(x, signed=signed, symmetric=symmetric, axis=axis)
    assert scale.shape == (x.shape[axis],)
    assert torch.equal(scale, ref_scale)
    assert torch.equal(zp, ref_zp)


def test_low_bit_qparams_match_observer_with_custom_range(x):
    for bits in (2, 4, 6):
        for signed, dtype in ((True, torch.qint8), (False, torch.quint8)):
            for symmetric in (False, True):
                qmin, qmax = qrange(bits, signed)
                qscheme = torch.per_tensor_symmetric if symmetric else torch.per_tensor_affine
                observer = MinMaxObserver(dtype=dtype, qscheme=qscheme, quant_min=qmin, quant_max=qmax)
                observer(x)
                ref_scale, ref_zp = observer.calculate_qparams()
                scale, zp = choose_qparams(x, bits=bits, signed=signed, symmetric=symmetric)
                assert torch.equal(scale.reshape(1), ref_scale), (bits, signed, symmetric)
                assert torch.equal(zp.reshape(1), ref_zp), (bits, signed, symmetric)


@pytest.mark.parametrize("dtype,signed", [(torch.qint8, True), (torch.quint8, False)])
def test_quantize_per_tensor_matches_torch(x, dtype, signed):
    scale, zp = choose_qparams(x, signed=signed)
    q = quantize(x, scale, zp, signed=signed)
    ref = torch.quantize_per_tensor(x, float(scale), int(zp), dtype)
    assert q.dtype == (torch.int8 if signed else torch.uint8)
    assert torch.equal(q, ref.int_repr())
    assert torch.equal(dequantize(q, scale, zp), ref.dequantize())


@pytest.mark.parametrize("axis", [0, 2])
def test_quantize_per_channel_matches_torch(x, axis):
    scale, zp = choose_qparams(x, axis=axis, signed=False)
    q = quantize(x, scale, zp, axis=axis, signed=False)
    ref = torch.quantize_per_channel(x, scale.double(), zp, axis, torch.quint8)
    assert torch.equal(q, ref.int_repr())
    assert torch.equal(dequantize(q, scale, zp, axis=axis), ref.dequantize())


def test_quantize_matches_the_decomposed_op_pt2e_uses(x):
    import torchao.quantization.pt2e  # noqa: F401  (registers torch.ops.quantized_decomposed)

    scale, zp = choose_qparams(x)
    ref = torch.ops.quantized_decomposed.quantize_per_tensor(x, float(scale), int(zp), -128, 127, torch.int8)
    assert torch.equal(quantize(x, scale, zp), ref)


def test_rounds_half_to_even_not_truncates_nor_half_up():
    x = torch.tensor([0.5, 1.5, 2.5, -0.5, -1.5, 0.9, -0.9, 1.7])
    q = quantize(x, 1.0, 0)
    # truncation would give 0 for 0.9 and 1 for 1.7; half-up would give 1 and 3 for 0.5 and 2.5
    assert q.tolist() == [0, 2, 2, 0, -2, 1, -1, 2]


def test_clamps_to_the_integer_range_instead_of_wrapping():
    x = torch.tensor([-1000.0, 1000.0, 127.4, -128.4])
    assert quantize(x, 1.0, 0).tolist() == [-128, 127, 127, -128]
    assert quantize(x, 1.0, 0, signed=False).tolist() == [0, 255, 127, 0]
    assert quantize(x, 1.0, 0, bits=4).tolist() == [-8, 7, 7, -8]


def test_zero_point_is_added_when_quantizing_and_subtracted_when_dequantizing():
    x = torch.tensor([0.0, 1.0, -1.0])
    q = quantize(x, 0.5, 10)
    assert q.tolist() == [10, 12, 8]
    assert dequantize(q, 0.5, 10).tolist() == [0.0, 1.0, -1.0]
    # all-positive data: zero maps to qmin, so the zero-point is negative for int8
    scale, zp = choose_qparams(min_val=0.0, max_val=2.55)
    assert int(zp) == -128 and float(scale) == pytest.approx(0.01)
    # all-negative data: zero maps to qmax
    scale, zp = choose_qparams(min_val=-2.55, max_val=-1.0)
    assert int(zp) == 127


def test_zero_is_exact_and_constant_tensors_do_not_divide_by_zero():
    x = torch.tensor([0.0, 0.3, 1.9, 5.0])
    assert fake_quantize(x)[0] == 0.0
    scale, zp = choose_qparams(torch.zeros(3))
    assert float(scale) > 0
    assert torch.equal(fake_quantize(torch.zeros(3)), torch.zeros(3))


def test_error_bounded_by_half_a_step_and_shrinks_with_more_bits(x):
    scale, zp = choose_qparams(x)
    err = quantization_error(x, dequantize(quantize(x, scale, zp), scale, zp))
    assert err["max_abs"] <= float(scale) / 2 + 1e-6
    sqnr = [quantization_error(x, fake_quantize(x, bits=b))["sqnr_db"] for b in (2, 4, 6, 8)]
    assert sqnr == sorted(sqnr) and sqnr[-1] - sqnr[0] > 25  # about 6 dB per bit
    assert quantization_error(x, x)["mse"] == 0.0


def test_per_channel_beats_per_tensor_when_channels_differ_in_range():
    w = torch.randn(4, 50) * torch.tensor([[0.01], [0.1], [1.0], [10.0]])
    per_tensor = quantization_error(w, fake_quantize(w, symmetric=True))["mse"]
    per_channel = quantization_error(w, fake_quantize(w, symmetric=True, axis=0))["mse"]
    assert per_channel < per_tensor


def test_bad_input_is_explained(x):
    with pytest.raises(ValueError, match="axis"):
        choose_qparams(x, axis=5)
    with pytest.raises(ValueError, match="min_val must not exceed"):
        choose_qparams(min_val=1.0, max_val=-1.0)
    with pytest.raises(ValueError, match="either"):
        choose_qparams(x, min_val=0.0, max_val=1.0)
    with pytest.raises(ValueError, match="empty"):
        choose_qparams(torch.empty(0))
    with pytest.raises(ValueError, match="needs 6 values"):
        quantize(x, torch.ones(3), torch.zeros(3, dtype=torch.int64), axis=0)
    with pytest.raises(ValueError, match="axis="):
        quantize(x, torch.ones(6), 0)
    with pytest.raises(ValueError, match="shapes differ"):
        quantization_error(x, x[0])
