"""Self-check for "Tensors and image formats". Numbers come from cvbook.data.formats."""

import torch

from cvbook.data import formats
from cvbook.quiz import choice, numeric


def questions():
    batch_bytes = formats.batch_memory(32, (3, 224, 224), torch.float32)
    strides = formats.strides_for((2, 3, 4, 5), "contiguous")
    offset = sum(i * s for i, s in zip((1, 2, 3, 4), strides))
    train_mb = formats.batch_memory(60_000, (1, 28, 28), torch.float32) / 1e6
    return [
        choice("batch-order", "easy",
               "In which order does a PyTorch convolution expect the dimensions of a batch of images?",
               [("`(N, H, W, C)`", False, "That is channels last (NHWC), the convention of TensorFlow, "
                 "PIL and NumPy arrays read from image files, not of PyTorch's layers."),
                ("`(N, C, H, W)`", True, "PyTorch is channels first: N images, C channels, then height and width."),
                ("`(C, N, H, W)`", False, "No framework puts channels before the batch; the batch "
                 "dimension always comes first."),
                ("`(N, C, W, H)`", False, "Width and height are swapped: tensor shapes give the height "
                 "(rows) before the width (columns).")],
               hint="PyTorch calls its own convention 'channels first'.",
               mistakes=["Copying the NHWC order of TensorFlow or of an image file.",
                         "Swapping H and W, as PIL's `size` (width, height) invites."]),
        choice("to-tensor", "easy",
               "What does torchvision's `ToTensor()` return for a uint8 NumPy array of shape `(28, 28, 3)`?",
               [("A uint8 tensor `(3, 28, 28)` with values 0 to 255", False,
                 "`ToTensor` also converts to float32 and scales; only the newer `v2.ToImage()` alone keeps uint8."),
                ("A float32 tensor `(28, 28, 3)` with values 0.0 to 1.0", False,
                 "The values are scaled, but the channels are also moved first."),
                ("A float32 tensor `(3, 28, 28)` with values 0.0 to 1.0", True,
                 "It moves the channels first and divides every byte by 255, so white is exactly 1.0."),
                ("A float32 tensor `(3, 28, 28)` with values 0.0 to 255/256", False,
                 "That is the common slip of dividing by 256; the divisor is 255, the largest byte.")],
               hint="Two things happen: a change of layout and a change of scale.",
               mistakes=["Dividing by 256 instead of 255.", "Forgetting that the channels move first."]),
        choice("pil-size", "easy",
               "A PIL image is 28 pixels tall and 20 pixels wide. What does `image.size` return?",
               [("`(28, 20)`", False, "That is the NumPy shape `(H, W)`; PIL reports width first."),
                ("`(20, 28)`", True, "PIL's `size` is `(width, height)`."),
                ("`(1, 28, 20)`", False, "That is a tensor shape `(C, H, W)` after `to_tensor`; PIL's size "
                 "has no channel."),
                ("`560`", False, "PIL's `size` is a pair, not the number of pixels.")],
               hint="PIL and NumPy disagree on which side comes first.",
               mistakes=["Assuming PIL uses NumPy's `(H, W)` order.",
                         "Only testing on square images, where the slip never shows."]),
        numeric("batch-bytes", "medium",
                "How many bytes does a batch of 32 RGB images of 224x224 pixels take as a float32 tensor?",
                batch_bytes,
                "32 x 3 x 224 x 224 elements x 4 bytes (float32), as `formats.batch_memory` computes.",
                hint="Elements times bytes per element; float32 is 4 bytes.",
                mistakes=["Counting one byte per element (uint8) for a float tensor.",
                          "Forgetting the batch size or the three channels."],
                wrong={batch_bytes // 4: "That is the uint8 size: float32 takes 4 bytes per element.",
                       batch_bytes // 32: "That is one image; the batch has 32.",
                       batch_bytes * 2: "That is float64; float32 takes 4 bytes, not 8."}),
        choice("copies", "medium",
               "`x` is a contiguous tensor of shape `(N, C, H, W)`. Which of these copies its data?",
               [("`x.permute(0, 2, 3, 1)`", False,
                 "`permute` returns a view: the same memory with reordered strides, whatever its size."),
                ("`x.permute(0, 2, 3, 1).contiguous()`", True,
                 "The permuted view is not contiguous, so `.contiguous()` copies it into a new block in NHWC order."),
                ("`x.view(x.shape[0], -1)`", False, "`view` never copies; it works here because `x` is contiguous."),
                ("`x[:, :1]`", False, "Basic slicing returns a view sharing `x`'s memory.")],
               hint="Compare `data_ptr()` before and after, as the chapter does.",
               mistakes=["Believing that `permute` rearranges the bytes.",
                         "Calling `view` on a permuted tensor and being surprised by the error."]),
        numeric("offset", "medium",
                "A contiguous float32 tensor has shape `(2, 3, 4, 5)`. At which offset in memory, "
                "counted in elements from 0, is `x[1, 2, 3, 4]`?",
                offset,
                f"The strides are {strides}; the offset is 1x{strides[0]} + 2x{strides[1]} + "
                f"3x{strides[2]} + 4x{strides[3]}.",
                hint="Each index times its stride, summed. In a contiguous tensor the last dimension has stride 1.",
                mistakes=["Counting from 1 instead of 0.", "Using the shape instead of the strides as multipliers."],
                wrong={offset + 1: "Offsets count from 0: the first element is at offset 0.",
                       offset * 4: "That is the offset in bytes; the question counts elements."}),
        choice("grey-channels-last", "hard",
               "Why is a greyscale batch of shape `(N, 1, 28, 28)` both contiguous and channels_last?",
               [("Because `to(memory_format=torch.channels_last)` is ignored for small images", False,
                 "Size does not matter; a three-channel 28x28 batch really is reordered."),
                ("Because with one channel, 'C fastest' and 'W fastest' describe the same bytes", True,
                 "A stride along a dimension of size 1 is never used, so both orders lay out the same memory."),
                ("Because PyTorch stores every uint8 tensor channels last", False,
                 "The default layout is contiguous (row-major) for every data type."),
                ("It is not: `is_contiguous()` returns False for it", False,
                 "The chapter prints both checks for the Fashion-MNIST batch: both are True.")],
               hint="Ask which stride is ever multiplied by a non-zero index.",
               mistakes=["Expecting a layout change to always change the strides you can observe.",
                         "Testing channels_last code only on greyscale data."]),
        choice("published-figure", "hard",
               "A tutorial states that one `(3, 224, 224)` input image takes 3.2 MB. What does the arithmetic say?",
               [("It is right for float64", False, "float64 gives about 1.2 MB, still far from 3.2."),
                ("It is right if MB means MiB", False, "MB and MiB differ by under 5 %, not by a factor of five."),
                ("The float32 image takes about 0.6 MB; the claim is about five times too large", True,
                 "3 x 224 x 224 x 4 bytes = 602,112 bytes; no common data type explains 3.2 MB."),
                ("It is right for a batch of 32", False, "A batch of 32 in float32 takes about 19 MB.")],
               hint="Compute 3 x 224 x 224 x 4.",
               mistakes=["Copying a published number without redoing the arithmetic.",
                         "Mixing up an input's size with the size of an activation inside the network."]),
        numeric("train-set-mb", "hard",
                "How many megabytes (10^6 bytes) do the 60,000 Fashion-MNIST training images "
                "(1x28x28) take as float32? Two decimals are enough.",
                round(train_mb, 2),
                "60,000 x 784 elements x 4 bytes; as uint8 they take a quarter of that, which is why "
                "datasets are stored as bytes and converted one batch at a time.",
                tolerance=0.01,
                hint="784 pixels per image, 4 bytes each.",
                mistakes=["Computing the uint8 size.", "Dividing by 2^20 (MiB) when the question asks for MB."],
                wrong={round(train_mb / 4, 2): "That is the uint8 size; float32 is four times larger.",
                       round(train_mb * 1e6 / 2**20, 2): "That is in MiB (2^20 bytes); the question asks for MB."}),
    ]
