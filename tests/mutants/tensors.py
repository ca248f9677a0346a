"""Plausible wrong answers for exercise 01_tensors (solutions/01_tensors/tensors.ipynb):
grade_id of the solution cell -> {label: the student's whole cell}. Each must lose the
points of that part's test cell."""

MUTANTS = {
    "batch_memory": {
        "bits_not_bytes": """
def batch_memory(n, shape, dtype):
    c, h, w = shape
    return n * c * h * w * dtype.itemsize * 8
""",
        "forgets_batch_dimension": """
def batch_memory(n, shape, dtype):
    c, h, w = shape
    return c * h * w * dtype.itemsize
""",
        "always_4_bytes": """
def batch_memory(n, shape, dtype):
    c, h, w = shape
    return n * c * h * w * 4
""",
        "forgets_channels": """
def batch_memory(n, shape, dtype):
    c, h, w = shape
    return n * h * w * dtype.itemsize
""",
        "returns_mib": """
def batch_memory(n, shape, dtype):
    c, h, w = shape
    return n * c * h * w * dtype.itemsize / 2**20
""",
        "float_bits_table": """
def batch_memory(n, shape, dtype):
    c, h, w = shape
    return n * c * h * w * (torch.finfo(dtype).bits // 8)
""",
        "allocates_the_batch": """
def batch_memory(n, shape, dtype):
    batch = torch.empty((n, *shape), dtype=dtype)
    return batch.numel() * batch.element_size()
""",
    },
    "nchw_to_nhwc": {
        "permute_0321": """
def nchw_to_nhwc(x):
    return x.permute(0, 3, 2, 1)
""",
        "contiguous_copy": """
def nchw_to_nhwc(x):
    return x.permute(0, 2, 3, 1).contiguous()
""",
        "clone_copy": """
def nchw_to_nhwc(x):
    return x.permute(0, 2, 3, 1).clone()
""",
        "reshape_instead_of_permute": """
def nchw_to_nhwc(x):
    n, c, h, w = x.shape
    return x.reshape(n, h, w, c)
""",
        "channels_last_memory_format": """
def nchw_to_nhwc(x):
    return x.to(memory_format=torch.channels_last)
""",
        "transpose_1_3": """
def nchw_to_nhwc(x):
    return x.transpose(1, 3)
""",
        "through_float": """
def nchw_to_nhwc(x):
    return x.float().permute(0, 2, 3, 1)
""",
        "as_strided_assuming_contiguous": """
def nchw_to_nhwc(x):
    n, c, h, w = x.shape
    return x.as_strided((n, h, w, c), (c * h * w, w, 1, h * w))
""",
    },
    "channels_last_strides": {
        "contiguous_strides": """
def channels_last_strides(shape):
    n, c, h, w = shape
    return (c * h * w, h * w, w, 1)
""",
        "nhwc_order": """
def channels_last_strides(shape):
    n, c, h, w = shape
    return (h * w * c, w * c, c, 1)
""",
        "h_and_w_swapped": """
def channels_last_strides(shape):
    n, c, h, w = shape
    return (h * w * c, 1, h * c, c)
""",
        "in_bytes": """
def channels_last_strides(shape):
    n, c, h, w = shape
    return (4 * h * w * c, 4, 4 * w * c, 4 * c)
""",
        "allocates_a_tensor": """
def channels_last_strides(shape):
    return torch.empty(shape, memory_format=torch.channels_last).stride()
""",
        "stride_of_n_forgets_channels": """
def channels_last_strides(shape):
    n, c, h, w = shape
    return (h * w, 1, w * c, c)
""",
        "channel_stride_is_h_times_w": """
def channels_last_strides(shape):
    n, c, h, w = shape
    return (h * w * c, h * w, w * c, c)
""",
    },
    "to_tensor": {
        "divides_by_256": """
def to_tensor(array):
    if array.dtype != np.uint8:
        raise ValueError("expected uint8")
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.tensor(array).permute(2, 0, 1).float() / 256
""",
        "keeps_hwc": """
def to_tensor(array):
    if array.dtype != np.uint8:
        raise ValueError("expected uint8")
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.tensor(array).float() / 255
""",
        "permute_210": """
def to_tensor(array):
    if array.dtype != np.uint8:
        raise ValueError("expected uint8")
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.tensor(array).permute(2, 1, 0).float() / 255
""",
        "reshape_instead_of_permute": """
def to_tensor(array):
    if array.dtype != np.uint8:
        raise ValueError("expected uint8")
    if array.ndim == 2:
        array = array[:, :, None]
    h, w, c = array.shape
    return torch.tensor(array).reshape(c, h, w).float() / 255
""",
        "float64": """
def to_tensor(array):
    if array.dtype != np.uint8:
        raise ValueError("expected uint8")
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.transpose(2, 0, 1) / 255.0)
""",
        "integer_division": """
def to_tensor(array):
    if array.dtype != np.uint8:
        raise ValueError("expected uint8")
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.tensor(array).permute(2, 0, 1) // 255
""",
        "no_scaling": """
def to_tensor(array):
    if array.dtype != np.uint8:
        raise ValueError("expected uint8")
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.tensor(array).permute(2, 0, 1).float()
""",
        "divides_by_image_max": """
def to_tensor(array):
    if array.dtype != np.uint8:
        raise ValueError("expected uint8")
    if array.ndim == 2:
        array = array[:, :, None]
    t = torch.tensor(array).permute(2, 0, 1).float()
    return t / t.max()
""",
        "min_max_normalised": """
def to_tensor(array):
    if array.dtype != np.uint8:
        raise ValueError("expected uint8")
    if array.ndim == 2:
        array = array[:, :, None]
    t = torch.tensor(array).permute(2, 0, 1).float()
    return (t - t.min()) / (t.max() - t.min())
""",
        "no_greyscale_channel": """
def to_tensor(array):
    if array.dtype != np.uint8:
        raise ValueError("expected uint8")
    return torch.tensor(array).permute(2, 0, 1).float() / 255
""",
        "greyscale_without_channel_dim": """
def to_tensor(array):
    if array.dtype != np.uint8:
        raise ValueError("expected uint8")
    t = torch.tensor(array).float() / 255
    return t if t.dim() == 2 else t.permute(2, 0, 1)
""",
        "no_dtype_check": """
def to_tensor(array):
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.tensor(array).permute(2, 0, 1).float() / 255
""",
        "modifies_input": """
def to_tensor(array):
    if array.dtype != np.uint8:
        raise ValueError("expected uint8")
    if array.ndim == 2:
        array = array[:, :, None]
    t = torch.from_numpy(array)
    result = t.permute(2, 0, 1).float() / 255
    t.zero_()
    return result
""",
        "numpy_transpose_255": """
def to_tensor(array):
    if array.dtype != np.uint8:
        raise ValueError("expected uint8")
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy((array / 255).astype(np.float32)).permute(1, 0, 2)
""",
        "as_strided_assuming_contiguous": """
def to_tensor(array):
    if array.dtype != np.uint8:
        raise ValueError(f"expected a uint8 array, got dtype {array.dtype}")
    h, w = array.shape[:2]
    c = array.shape[2] if array.ndim == 3 else 1
    chw = np.lib.stride_tricks.as_strided(array, (c, h, w), (1, w * c, c))
    return torch.tensor(chw).float() / 255
""",
        "adds_channel_in_place": """
def to_tensor(array):
    if array.dtype != np.uint8:
        raise ValueError(f"expected a uint8 array, got dtype {array.dtype}")
    if array.ndim == 2:
        array.shape = array.shape + (1,)
    return torch.tensor(array).permute(2, 0, 1).float() / 255
""",
    },
}

# Right answers written differently from the solution: each must keep every point.
CORRECT = {
    "nchw_to_nhwc": {
        "movedim": """
def nchw_to_nhwc(x):
    return x.movedim(1, -1)
""",
    },
}
