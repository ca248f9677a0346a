"""Self-check for "Fundamentals: convolution, normalisation, loss and optimisation". Numeric
answers come from cvbook.fundamentals and from PyTorch's own layers."""

from torch import nn

from cvbook.fundamentals import conv_output_size, receptive_field
from cvbook.quiz import choice, numeric


def questions():
    params = sum(p.numel() for p in nn.Conv2d(16, 32, 3).parameters())
    out = conv_output_size(64, 3, stride=2, padding=1)
    field = receptive_field([(3, 2), (3, 2), (3, 1)])[-1]
    return [
        choice("flip", "easy",
               "What does `nn.Conv2d` compute at one output position of a one-channel image?",
               [("The sum of the pixels under the kernel times the kernel's weights, plus the bias", True,
                 "A weighted sum of the window, with the kernel as it is stored (not flipped), plus the bias."),
                ("The maximum of the pixels under the kernel", False, "That is max pooling, which has no weights."),
                ("The product of the kernel flipped in both directions with the window", False,
                 "Textbook convolution flips the kernel; PyTorch's layers compute a cross-correlation and do not."),
                ("The mean of the window", False, "That is average pooling.")],
               hint="Compare the formula with what `F.conv2d` gives for a kernel that is 1 in one corner.",
               mistakes=["Flipping the kernel when comparing with PyTorch.", "Forgetting the bias."]),
        numeric("conv-params", "easy",
                "How many parameters does `nn.Conv2d(16, 32, 3)` hold (with its bias)?",
                params,
                "32 filters of shape 16 x 3 x 3 (4,608 weights) plus 32 biases: 4,640.",
                hint="One kernel per input channel per filter, and one bias per filter.",
                mistakes=["Forgetting the input channels: 3 x 3 x 32.", "Forgetting the biases."],
                wrong={4608: "These are the weights only; each of the 32 filters also has a bias.",
                       288: "Each filter has one 3 x 3 kernel per input channel: multiply by 16."}),
        choice("global-pool", "easy",
               "A feature map of shape (8, 64, 7, 7) goes through global average pooling. What shape comes out?",
               [("(8, 64, 1, 1)", True, "One mean per channel and image; flattened, (8, 64)."),
                ("(8, 1, 7, 7)", False, "That would average over the channels, not over the pixels."),
                ("(8, 64, 3, 3)", False, "That is a 2 x 2 pooling with stride 2, rounding down."),
                ("(1, 64, 7, 7)", False, "Pooling never mixes the images of a batch.")],
               hint="Global average pooling averages each whole map.",
               mistakes=["Averaging over channels instead of positions."]),
        numeric("output-size", "medium",
                "A 3 x 3 convolution with stride 2 and padding 1 is applied to a 64 x 64 image. How wide is "
                "its output?",
                out,
                "floor((64 + 2 - 3) / 2) + 1 = floor(31.5) + 1 = 32.",
                hint="floor((n + 2p - d(k - 1) - 1) / s) + 1, with d = 1.",
                mistakes=["Rounding up instead of down.", "Adding the padding on one side only."],
                wrong={33: "That rounds 31.5 up; PyTorch rounds down.",
                       31: "That forgets the + 1: there is room for 31.5 strides, so 32 windows."}),
        numeric("receptive-field", "medium",
                "Three 3 x 3 convolutions are stacked: the first two with stride 2, the last with stride 1. "
                "How many input pixels wide is the receptive field of one output pixel of the last?",
                field,
                "3, then 3 + 2 x 2 = 7, then 7 + 2 x 4 = 15: each layer adds (k - 1) times the product of "
                "the strides before it.",
                hint="Track the distance, in input pixels, between neighbouring pixels of each layer's input.",
                mistakes=["Adding k - 1 per layer and ignoring the strides (which gives 7).",
                          "Multiplying the kernel sizes."],
                wrong={7: "That is three stride-1 layers; the strides make later layers step over 2 and 4 pixels."}),
        choice("bn-modes", "medium",
               "A model with BatchNorm is evaluated without calling `model.eval()`. What happens?",
               [("Nothing: BatchNorm behaves the same in both modes", False,
                 "It does not: training mode uses the current batch's statistics."),
                ("Each test batch is normalised with its own mean and variance, and the running averages change",
                 True, "So predictions depend on the other images in the batch and on the batch size, and the "
                 "stored statistics drift towards the test data."),
                ("PyTorch raises an error", False, "No error: the mistake is silent."),
                ("Gradients are computed and the weights change", False,
                 "Weights change only when an optimiser steps; the running statistics are buffers, and they do "
                 "change.")],
               hint="What does BatchNorm use in training mode, and what does it update?",
               mistakes=["Evaluating in training mode.", "Evaluating with batch size 1 in training mode."]),
        choice("overflow", "hard",
               "Logits (1000, 999, 0) in float32 go into a softmax computed as exp(z) / sum(exp(z)). "
               "What comes out?",
               [("nan for the first two classes", True,
                 "exp(1000) and exp(999) overflow to inf, and inf / inf is nan."),
                ("(0.73, 0.27, 0.00)", False, "That is the right answer, which the stable version gives."),
                ("An error", False, "Floating point overflows silently to inf."),
                ("(1, 0, 0)", False, "Nothing rounds to exactly these: the division itself is nan.")],
               hint="float32's largest number is about e to the 88.7.",
               mistakes=["Trusting a softmax written from the formula.", "Putting a softmax in the model and a "
                         "log in the loss."]),
        choice("lse", "hard",
               "Why does subtracting the largest logit m before exp give the same log-sum-exp?",
               [("Because exp(z - m) = exp(z) / exp(m), and the factor exp(m) comes back out as + m", True,
                 "log sum exp(z) = log(exp(m) sum exp(z - m)) = m + log sum exp(z - m)."),
                ("It does not; it is an approximation for large logits", False,
                 "It is exact, for any m; choosing the maximum is what makes it safe."),
                ("Because softmax ignores the largest logit", False, "The largest logit gets the largest "
                 "probability."),
                ("Because exp is linear for large inputs", False, "exp is never linear.")],
               hint="Factor exp(m) out of the sum.",
               mistakes=["Subtracting the minimum (the exponents then overflow).",
                         "Subtracting one maximum for the whole batch instead of each row's."]),
        choice("momentum", "hard",
               "With torch.optim.SGD(lr=0.1, momentum=0.9) and the same gradient g at every step, what does "
               "the step p - p_new approach?",
               [("g", False, "That is plain SGD with learning rate 1."),
                ("0.1 g", False, "That is plain SGD without momentum."),
                ("1 g: the velocity approaches g / (1 - 0.9) = 10 g, times lr 0.1", True,
                 "v = 0.9 v + g converges to 10 g, and the step is lr times v."),
                ("0.9 g", False, "Momentum scales the previous velocity, not the step.")],
               hint="Solve v = 0.9 v + g for v.",
               mistakes=["Putting the learning rate inside the velocity and comparing buffers with PyTorch's.",
                         "Confusing momentum with Nesterov momentum."]),
    ]
