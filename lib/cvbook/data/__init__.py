"""Data: datasets as in-memory uint8 tensors with their splits (splits), the one
normalisation from pixels to a model's input (normalize), augmentation on whole batches
(augment), loaders for the per-image and in-memory paths (loaders), channel statistics
(stats), and the readers and fetchers of each dataset's files."""

from cvbook.data.normalize import channel_stats, normalize, to_input
from cvbook.data.splits import DATASETS, ImageSet, load_splits, read_image_folder, split_off

__all__ = ["DATASETS", "ImageSet", "channel_stats", "load_splits", "normalize", "read_image_folder",
           "split_off", "to_input"]
