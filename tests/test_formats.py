"""cvbook.data.formats against what torch and torchvision actually do."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torchvision.transforms import v2

from cvbook.data import formats

SHAPES_4D = [(2, 3, 4, 5), (1, 3, 7, 2), (4, 1, 3, 3), (2, 16, 1, 1), (3, 2, 5, 1)]
DTYPES = [torch.uint8, torch.float16, torch.bfloat16, torch.float32, torch.float64,
          torch.int64, torch.bool]


# --- Memory -----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 224, 224), (1, 28, 28), (3, 5, 7)])
def test_bytes_match_a_real_tensor(shape, dtype):
    t = torch.empty(shape, dtype=dtype)
    assert formats.bytes_per_image(shape, dtype) == t.element_size() * t.numel()
    batch = torch.empty((6, *shape), dtype=dtype)
    assert formats.batch_memory(6, shape, dtype) == batch.element_size() * batch.numel()


def test_imagenet_sized_float32_image_is_0_57_mib_not_3_2_mb():
    n_bytes = formats.bytes_per_image((3, 224, 224), torch.float32)
    assert n_bytes == torch.zeros(3, 224, 224).untyped_storage().nbytes()
    assert round(n_bytes / formats.MiB, 2) == 0.57
    assert n_bytes < 3.2e6 / 5  # the tutorial's figure is over five times too large


def test_dtype_given_by_name():
    assert formats.bytes_per_image((3, 4), "float16") == formats.bytes_per_image((3, 4), torch.float16)


@pytest.mark.parametrize("shape", [(3, 0, 4), (3, -2), "3x224x224", (3, 2.5), None])
def test_bad_shape_is_rejected(shape):
    with pytest.raises(ValueError, match="shape"):
        formats.bytes_per_image(shape, torch.float32)


@pytest.mark.parametrize("dtype", ["tensor", "float31", 4, np.float32])
def test_bad_dtype_is_rejected(dtype):
    with pytest.raises(ValueError, match="dtype"):
        formats.bytes_per_image((3, 4, 4), dtype)


@pytest.mark.parametrize("n", [0, -1, 2.0, True])
def test_bad_batch_size_is_rejected(n):
    with pytest.raises(ValueError, match="batch size"):
        formats.batch_memory(n, (3, 4, 4), torch.float32)


# --- Layouts ----------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES_4D + [(5,), (2, 3), (2, 3, 4), (1, 2, 3, 4, 5)])
def test_contiguous_strides_match_torch(shape):
    assert formats.strides_for(shape) == torch.empty(shape).stride()
    assert formats.strides_for(shape, torch.contiguous_format) == torch.empty(shape).stride()


@pytest.mark.parametrize("shape", SHAPES_4D)
def test_channels_last_strides_match_torch(shape):
    t = torch.empty(shape, memory_format=torch.channels_last)
    assert formats.strides_for(shape, "channels_last") == t.stride()
    assert formats.strides_for(shape, torch.channels_last) == t.stride()


def test_strides_need_no_memory():
    huge = (1024, 3, 100_000, 100_000)  # 123 TB as float32: computed, never allocated
    meta = torch.empty(huge, device="meta", memory_format=torch.channels_last)
    assert formats.strides_for(huge, "channels_last") == meta.stride()


def test_strides_reject_bad_layout():
    with pytest.raises(ValueError, match="channels_last needs a 4-D"):
        formats.strides_for((3, 4, 5), "channels_last")
    with pytest.raises(ValueError, match="memory_format"):
        formats.strides_for((1, 3, 4, 5), "nhwc")


@pytest.mark.parametrize("shape", SHAPES_4D)
def test_permutes_are_views_with_the_right_values(shape):
    torch.manual_seed(0)
    x = torch.randn(shape)
    nhwc = formats.nchw_to_nhwc(x)
    n, c, h, w = shape
    assert nhwc.shape == (n, h, w, c)
    assert nhwc.data_ptr() == x.data_ptr()  # a view: same storage, nothing copied
    i = (n - 1, c - 1, h // 2, w - 1)
    assert nhwc[i[0], i[2], i[3], i[1]] == x[i]
    back = formats.nhwc_to_nchw(nhwc)
    assert back.data_ptr() == x.data_ptr()
    assert torch.equal(back, x) and back.stride() == x.stride()


@pytest.mark.parametrize("shape", SHAPES_4D)
def test_contiguous_nhwc_viewed_as_nchw_is_channels_last(shape):
    n, c, h, w = shape
    nhwc = torch.randn(n, h, w, c)
    nchw = formats.nhwc_to_nchw(nhwc)
    assert formats.is_channels_last(nchw)
    assert nchw.stride() == torch.empty(shape, memory_format=torch.channels_last).stride()


@pytest.mark.parametrize("shape", SHAPES_4D + [(1, 1, 1, 1), (0, 3, 2, 2)])
def test_is_channels_last_agrees_with_torch(shape):
    x = torch.randn(shape)
    candidates = [x, x.to(memory_format=torch.channels_last), x.transpose(2, 3),
                  formats.nchw_to_nhwc(x), x[:, :, ::2], x.permute(0, 1, 3, 2).contiguous()]
    for t in candidates:
        expected = t.is_contiguous(memory_format=torch.channels_last)
        assert formats.is_channels_last(t) == expected, (shape, t.shape, t.stride())
    assert formats.is_channels_last(x.to(memory_format=torch.channels_last))


@pytest.mark.parametrize("fn", [formats.nchw_to_nhwc, formats.nhwc_to_nchw, formats.is_channels_last])
def test_layout_functions_need_4d_tensors(fn):
    with pytest.raises(ValueError, match="4-D"):
        fn(torch.zeros(3, 28, 28))
    with pytest.raises(TypeError):
        fn(np.zeros((1, 3, 28, 28)))


# --- Conversions ------------------------------------------------------------------

def _random_image(rng, mode, size=(7, 5)):
    channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}[mode]
    w, h = size
    pixels = rng.integers(0, 256, size=(h, w, channels), dtype=np.uint8)
    return Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels)


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_to_tensor_matches_torchvision_on_pil_images(mode):
    rng = np.random.default_rng(1)
    image = _random_image(rng, mode)
    assert image.mode == mode
    got = formats.to_tensor(image)
    assert got.dtype == torch.float32 and got.is_contiguous()
    assert torch.equal(got, TF.to_tensor(image))
    v2_pipeline = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    # v2 multiplies by 1/255 instead of dividing by 255: equal up to float32 rounding
    torch.testing.assert_close(got, v2_pipeline(image).as_subclass(torch.Tensor), rtol=0, atol=1e-7)


@pytest.mark.parametrize("shape", [(6, 4), (6, 4, 1), (6, 4, 3), (3, 3, 3)])
def test_to_tensor_matches_torchvision_on_arrays(shape):
    array = np.random.default_rng(2).integers(0, 256, size=shape, dtype=np.uint8)
    got = formats.to_tensor(array)
    assert got.shape == (1 if len(shape) == 2 else shape[2], shape[0], shape[1])
    assert torch.equal(got, TF.to_tensor(array))
    assert got.min() >= 0 and got.max() <= 1


def test_to_tensor_scales_by_255_exactly():
    array = np.array([[0, 1, 128, 254, 255]], dtype=np.uint8)
    got = formats.to_tensor(array)
    assert got[0, 0, 0] == 0 and got[0, 0, -1] == 1  # 255 -> 1.0, not 255/256
    assert torch.allclose(got.flatten(), torch.tensor([0, 1, 128, 254, 255]) / 255.0)


def test_to_tensor_accepts_non_contiguous_arrays():
    array = np.random.default_rng(3).integers(0, 256, size=(5, 6, 3), dtype=np.uint8)
    flipped = array[::-1, :, :]  # negative strides, which torch.from_numpy refuses
    assert torch.equal(formats.to_tensor(flipped), TF.to_tensor(flipped.copy()))


def test_to_tensor_rejects_wrong_input():
    with pytest.raises(ValueError, match="uint8"):
        formats.to_tensor(np.zeros((4, 4, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        formats.to_tensor(np.zeros((2, 4, 4, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="mode 'I'"):
        formats.to_tensor(Image.new("I", (4, 4)))
    with pytest.raises(TypeError):
        formats.to_tensor(torch.zeros(4, 4, dtype=torch.uint8))


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
def test_to_pil_round_trips_exactly(mode):
    image = _random_image(np.random.default_rng(4), mode, size=(9, 4))
    back = formats.to_pil(formats.to_tensor(image))
    assert back.mode == mode and back.size == image.size
    assert np.array_equal(np.asarray(back), np.asarray(image))
    from_uint8 = formats.to_pil(TF.pil_to_tensor(image))
    assert np.array_equal(np.asarray(from_uint8), np.asarray(image))


def test_to_pil_is_within_one_level_of_torchvision():
    x = torch.rand(3, 5, 6, generator=torch.Generator().manual_seed(5))
    ours = np.asarray(formats.to_pil(x)).astype(int)
    theirs = np.asarray(TF.to_pil_image(x)).astype(int)  # truncates instead of rounding
    assert np.abs(ours - theirs).max() <= 1
    assert formats.to_pil(x[0]).mode == "L"


def test_to_pil_rejects_wrong_input():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        formats.to_pil(torch.full((3, 4, 4), 1.5))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        formats.to_pil(torch.full((1, 4, 4), float("nan")))
    with pytest.raises(ValueError, match="channels first"):
        formats.to_pil(torch.rand(5, 6, 3))
    with pytest.raises(ValueError, match="one image"):
        formats.to_pil(torch.rand(2, 3, 4, 4))
    with pytest.raises(ValueError, match="dtype"):
        formats.to_pil(torch.zeros(3, 4, 4, dtype=torch.int32))


def test_to_numpy_hwc_is_a_view_in_hwc_order():
    x = torch.rand(3, 4, 5)
    array = formats.to_numpy_hwc(x)
    assert array.shape == (4, 5, 3) and array.dtype == np.float32
    assert np.array_equal(array, x.permute(1, 2, 0).numpy())
    x[2, 1, 0] = 7.0  # shared memory: the write shows through
    assert array[1, 0, 2] == 7.0
    assert formats.to_numpy_hwc(torch.zeros(4, 5)).shape == (4, 5, 1)
    grad = torch.rand(1, 2, 2, requires_grad=True)
    assert formats.to_numpy_hwc(grad).shape == (2, 2, 1)


def test_fashion_mnist_image_round_trip(fashion_mnist_available):
    from cvbook.data.fashion_mnist import load_fashion_mnist

    images, _ = load_fashion_mnist("test")
    array = images[0].numpy()
    tensor = formats.to_tensor(array)
    assert tensor.shape == (1, 28, 28)
    assert torch.equal(tensor, TF.to_tensor(Image.fromarray(array)))
    assert np.array_equal(np.asarray(formats.to_pil(tensor)), array)
