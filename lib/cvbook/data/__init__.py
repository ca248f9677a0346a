"""Data: datasets as in-memory uint8 tensors with their splits (splits), the one
normalisation from pixels to a model's input (normalize), augmentation on whole batches
(augment), loaders for the per-image and in-memory paths (loaders), channel statistics
(stats), and the readers and fetchers of each dataset's files.

The names below are imported on first use, so that `cvbook data where` and the other
commands that only look at files do not load torch."""

_EXPORTS = {"channel_stats": "normalize", "normalize": "normalize", "to_input": "normalize",
            "DATASETS": "splits", "ImageSet": "splits", "load_splits": "splits",
            "read_image_folder": "splits", "split_off": "splits"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'cvbook.data' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"cvbook.data.{_EXPORTS[name]}"), name)
