"""Self-check for "Pruning and quantization", after the self-check of a popular lesson on
model optimisation, translated to PyTorch. Counts and sizes come from running PyTorch's
pruning and cvbook.compress."""

import torch
import torch.nn.utils.prune as prune
from torch import nn

from cvbook.compress.size import size_on_disk
from cvbook.quiz import choice, numeric

PRUNE_CODE = """import torch
import torch.nn.utils.prune as prune

layer = torch.nn.Linear(100, 50)
prune.l1_unstructured(layer, name="weight", amount=0.2)
print((layer.weight != 0).sum().item())"""


def questions():
    torch.manual_seed(0)
    layer = nn.Linear(100, 50)
    dense_bytes = size_on_disk(layer)
    prune.l1_unstructured(layer, name="weight", amount=0.2)
    nonzero = int((layer.weight != 0).sum())
    masked_bytes = size_on_disk(layer)
    prune.remove(layer, "weight")
    stored = layer.weight.numel()
    removed_bytes = size_on_disk(layer)
    assert removed_bytes == dense_bytes and masked_bytes > dense_bytes
    int8_bytes = torch.zeros(50, 100, dtype=torch.int8).nbytes
    return [
        choice("pruning-goal", "easy",
               "What does unstructured magnitude pruning do to a layer?",
               [("It removes whole filters, so the layer gets thinner", False, "That is structured pruning."),
                ("It sets the smallest weights to zero; every tensor keeps its full size", True,
                 "On its own the file is exactly as large and the model exactly as fast."),
                ("It converts the weights to 8-bit integers", False, "That is quantization."),
                ("It adds layers to recover accuracy", False, "Pruning removes; fine-tuning recovers.")],
               hint="Unstructured: individual weights, wherever they are.",
               mistakes=["Expecting unstructured pruning alone to shrink the file or speed up inference.",
                         "Confusing pruning with quantization."]),
        choice("csr", "easy",
               "Storing only the non-zero weights with their positions (CSR: 4 bytes of value plus 4 of index "
               "each) makes a float32 tensor smaller only above which sparsity?",
               [("10 %", False, "At 10 % sparsity CSR stores 90 % of the entries at 8 bytes each: 1.8 times the dense size."),
                ("50 %", True, "Each kept entry costs 8 bytes instead of 4, so at least half must be zeros to break even."),
                ("75 %", False, "CSR already pays from 50 %; 75 % halves the size."),
                ("Any sparsity above 0 %", False, "Each stored entry costs twice a dense one.")],
               hint="Each kept entry costs twice what a dense entry does.",
               mistakes=["Assuming any sparsity saves space."]),
        numeric("prune-nonzero", "medium",
                "What does this print?",
                nonzero,
                "The layer has 100 x 50 = 5,000 weights; 20 % of them, the smallest in absolute value, are "
                "masked to zero, leaving 80 %.",
                hint="Remaining non-zeros = total x (1 - amount).",
                mistakes=["Using the pruning amount as the share kept instead of the share removed.",
                          "Computing the weight count from the wrong dimensions."],
                wrong={stored: "That is every weight: the mask sets 1,000 of them to zero, and the count skips zeros.",
                       1000: "That is how many weights were pruned, not how many remain.",
                       8000: "The layer has 5,000 weights, not 10,000."},
                code=PRUNE_CODE),
        numeric("prune-stored", "medium",
                "After that pruning and `prune.remove(layer, 'weight')`, how many numbers does the weight tensor "
                "still store?",
                stored,
                "Pruning masks weights, it does not remove them: the tensor is still 50 x 100, zeros included, "
                "so the file keeps its size.",
                hint="Look at `layer.weight.shape`.",
                mistakes=["Confusing non-zero weights with stored weights."],
                wrong={nonzero: "That is the non-zeros; the zeros are stored too, as float32."}),
        choice("file-size", "medium",
               f"The dense layer's saved `state_dict` takes {dense_bytes:,} bytes. What happens to the file size "
               "after `prune.l1_unstructured(amount=0.2)`, before and after `prune.remove`?",
               [("It shrinks by 20 % at once", False, "Zeros are float32 numbers like any other."),
                (f"Before `remove` it grows to {masked_bytes:,} bytes; after `remove` it is {removed_bytes:,} again", True,
                 "Until `remove`, the state_dict holds `weight_orig` and a float mask of the same shape; "
                 "afterwards one dense weight with zeros in it."),
                ("It shrinks by 20 % after `remove`", False, "`remove` only makes the mask permanent; the tensor keeps its shape."),
                ("It shrinks only after gzip, by exactly 20 %", False,
                 "Compression helps, but by how much depends on the data, not exactly the pruned share.")],
               hint="What does `torch.nn.utils.prune` keep in the module until `remove` is called?",
               mistakes=["Saving a pruned model before `prune.remove` and shipping twice the weights.",
                         "Counting zeros as free storage."]),
        numeric("int8-bytes", "medium",
                "The 50 x 100 weight matrix takes 20,000 bytes in float32. How many bytes does it take as int8 "
                "(values only, without scales)?",
                int8_bytes,
                "One byte per weight instead of four: the 4x that int8 gives on the weights.",
                hint="int8 is one byte per element.",
                mistakes=["Expecting pruned zeros to be free in int8: a zero still takes one byte."],
                wrong={4000: "That counts only the non-zeros; an int8 zero still takes one byte.",
                       10_000: "That is float16 (two bytes per weight)."}),
        choice("int8-api", "medium",
               "In PyTorch 2.13, which of these really produces a CNN that runs int8 kernels on an x86 CPU?",
               [("`torch.ao.quantization.quantize_dynamic(model)`", False,
                 "Deprecated, and it converts only `nn.Linear`: the convolutions, where the time goes, stay float."),
                ("`model.half()`", False, "That is float16, not int8: two bytes per weight and no integer arithmetic."),
                ("`model.to(torch.int8)`", False, "`Module.to` refuses integer dtypes with a TypeError; a plain cast "
                 "without scale and zero-point would destroy the weights anyway."),
                ("`torch.export`, torchao's `prepare_pt2e` / `convert_pt2e` with `X86InductorQuantizer`, then `torch.compile`", True,
                 "The current static int8 path; the converted graph runs int8 arithmetic once it is compiled.")],
               hint="The chapter's table marks which APIs are current.",
               mistakes=["Following older tutorials that use the deprecated eager or FX APIs.",
                         "Running the converted graph eagerly and finding it slower than float."]),
        choice("eager-slow", "hard",
               "A PT2E-converted int8 model, run without `torch.compile`, is slower than the float model. Why?",
               [("Its quantize/dequantize pairs execute one by one in float", True,
                 "Only compilation fuses them into int8 kernels."),
                ("int8 arithmetic is always slower on CPUs", False, "With real int8 kernels it is faster at large batches."),
                ("The calibration was too short", False, "Calibration affects accuracy, not speed."),
                ("The weights are stored twice", False, "The slowdown is in the arithmetic, not the storage.")],
               hint="What does the converted graph contain before compilation?",
               mistakes=["Benchmarking the converted graph eagerly."]),
        choice("batch1", "hard",
               "Why can int8 be slower than float32 at batch 1 for a small network?",
               [("At batch 1 the time goes to per-layer overhead, including quantizing and dequantizing "
                 "activations at every int8 region boundary", True,
                 "One 28x28 image is a few million multiply-adds; int8 kernels pay when arithmetic dominates, at batch 64."),
                ("int8 weights take longer to load from disk", False, "They are four times smaller."),
                ("int8 loses accuracy", False, "Accuracy is not speed."),
                ("Batch 1 cannot be quantized", False, "It can; it is just not where int8 pays.")],
               hint="How much arithmetic does one small image need?",
               mistakes=["Measuring only at batch 64 and promising the same speed-up for one image at a time."]),
        choice("lesson-20mb", "hard",
               "A lesson prunes 30 % of the weights, converts float32 to int8 and reports '20MB to 7MB'. What "
               "explains the shrink?",
               [("The pruning, which removed 30 % of the file", False,
                 "A pruned weight quantizes to an int8 zero that still takes one byte."),
                ("int8: close to 4x on the weights, less on the whole file (scales, biases, graph, float parts)", True,
                 "2.86x is consistent with int8 plus float32 parts left over, not with any gain from pruning."),
                ("Both, multiplied: 0.7 x 0.25", False, "That would give 3.5 MB; pruning saves nothing in a dense file."),
                ("gzip compression of the zeros", False, "The pipeline as described has no compression step, "
                 "and the int8 step alone accounts for the ratio.")],
               hint="Which step changes the bytes per stored weight?",
               mistakes=["Adding pruning's share to quantization's saving.",
                         "Forgetting sparse storage or compression, without which pruning cannot count."]),
        choice("symmetric-relu", "hard",
               "Why are activations after a ReLU quantized asymmetrically (uint8) and weights symmetrically (int8)?",
               [("ReLU outputs are all >= 0 and would waste half of a symmetric range; weights are spread around 0", True,
                 "Asymmetric maps [min, max] exactly; symmetric fixes the zero-point at 0, cheap in the kernel."),
                ("Weights are always larger than activations", False, "Ranges decide, not magnitudes."),
                ("uint8 is faster than int8", False, "The choice is about covering the range."),
                ("Symmetric quantization cannot represent zero", False, "It represents 0 exactly with zero-point 0.")],
               hint="Where are a ReLU's outputs on the number line?",
               mistakes=["Using one symmetric per-tensor scale for everything."]),
    ]
