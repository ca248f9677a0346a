"""Self-check for "Landmark architectures". Sizes and counts come from PyTorch layers and
cvbook's models."""

import torch
from torch import nn

from cvbook.evaluate.efficiency import count_parameters
from cvbook.models import create_model
from cvbook.quiz import choice, numeric


def questions():
    alex_side = nn.Conv2d(3, 64, 11, stride=4, padding=2)(torch.zeros(1, 3, 64, 64)).shape[-1]
    alex_side_nopad = nn.Conv2d(3, 64, 11, stride=4)(torch.zeros(1, 3, 64, 64)).shape[-1]
    two_3x3 = 2 * count_parameters(nn.Conv2d(64, 64, 3, bias=False))
    one_5x5 = count_parameters(nn.Conv2d(64, 64, 5, bias=False))
    tiniest_model = create_model("tiniest", num_classes=10, in_chans=3, img_size=32)
    tiniest = count_parameters(tiniest_model)
    head = [m for m in tiniest_model.modules() if isinstance(m, nn.Linear)][-1]
    side = 28
    for _ in range(5):   # five stride-2 steps of EfficientNet-B0 (3x3 or 5x5, 'same' padding)
        side = nn.Conv2d(1, 1, 3, stride=2, padding=1)(torch.zeros(1, 1, side, side)).shape[-1]
    return [
        choice("residual", "easy",
               "What makes very deep ResNets trainable?",
               [("The block computes `relu(x + F(x))`, so doing nothing only needs `F = 0`", True,
                 "The skip connection makes the identity easy and lets the gradient flow straight back."),
                ("They use 11x11 kernels in every layer", False, "ResNets use 3x3 kernels; 11x11 is AlexNet's stem."),
                ("They concatenate the outputs of every earlier layer", False, "That is DenseNet."),
                ("They have no normalisation layers", False, "ResNets use BatchNorm after every convolution.")],
               hint="Deeper plain networks were worse even on the training set.",
               mistakes=["Confusing ResNet's addition with DenseNet's concatenation."]),
        choice("densenet", "easy",
               "How does a dense block combine a layer's input with its output?",
               [("It adds them", False, "Adding is the residual block."),
                ("It concatenates them along the channels", True,
                 "Each layer sees all earlier feature maps and contributes only k new channels (the growth rate)."),
                ("It multiplies them", False, "That is closer to a gate, such as squeeze-and-excitation."),
                ("It keeps only the output", False, "That is a plain network such as VGG.")],
               hint="Think of the word 'reuse'.",
               mistakes=["Expecting DenseNet to be light in memory because it is light in parameters."]),
        numeric("tiniest-params", "easy",
                "How many parameters does the Tiniest have for CIFAR-10 (3x32x32, ten classes)?",
                tiniest,
                "The model card's number, which `cvbook.models.tiniest` rebuilds layer by layer.",
                hint="It is in the name of the section and under 100,000.",
                mistakes=["Quoting torchinfo's multiply-adds instead of the parameters."],
                wrong={tiniest - count_parameters(head): "That leaves out the ten-class classifier; count every layer."}),
        numeric("alexnet-stem", "medium",
                "AlexNet's first convolution has 11x11 kernels, stride 4 and padding 2. What is the side of its "
                "output for a 64x64 input?",
                alex_side,
                "floor((64 + 2x2 - 11) / 4) + 1: most of the image's resolution is gone after one layer, "
                "which is why the small variant uses 3x3 kernels at stride 1.",
                hint="Output side = floor((input + 2 x padding - kernel) / stride) + 1.",
                mistakes=["Forgetting the padding.", "Forgetting the + 1."],
                wrong={alex_side_nopad: "That leaves out the padding of 2 on each side.",
                       16: "64 / 4 ignores the kernel size; use the full formula."}),
        numeric("vgg-stack", "medium",
                "Two stacked 3x3 convolutions from 64 to 64 channels (no bias) see a 5x5 window. How many "
                "weights do they have together?",
                two_3x3,
                f"2 x 3 x 3 x 64 x 64; one 5x5 convolution would need {one_5x5:,} for the same window, and "
                "the stack adds a non-linearity between the two.",
                hint="A k x k convolution from C to C channels has k x k x C x C weights.",
                mistakes=["Counting one convolution only.", "Forgetting the product of input and output channels."],
                wrong={two_3x3 // 2: "That is one 3x3 convolution; the stack has two.",
                       one_5x5: "That is a single 5x5 convolution, the larger alternative."}),
        choice("small-stem", "medium",
               "Why do the small variants replace ResNet's 7x7 stride-2 stem and max-pool with a 3x3 stride-1 "
               "convolution?",
               [("To load ImageNet weights more easily", False, "The change makes ImageNet weights not fit."),
                ("The original stem divides the side by four at once, too much for 28-64 pixel images", True,
                 "With the small stem a 64-pixel image still has 8x8 positions in the last stage."),
                ("3x3 kernels have more parameters", False, "They have fewer than 7x7 kernels."),
                ("Max-pooling is not allowed before BatchNorm", False, "No such rule exists.")],
               hint="Follow the resolution of a 28x28 image through the stem.",
               mistakes=["Running ImageNet networks unchanged on tiny images and blaming the architecture."]),
        choice("alexnet-input-size", "hard",
               "Why does AlexNet's parameter count change with the input size while ResNet-18's barely does?",
               [("AlexNet's first Linear layer sees every position of the last feature map", True,
                 "A larger input gives a larger map and so a larger weight matrix; ResNet averages the map first."),
                ("AlexNet's convolutions have more channels for larger images", False,
                 "Convolution weights do not depend on the image size."),
                ("ResNet-18 resizes every input to 224x224", False, "It takes the image as it comes."),
                ("Because of BatchNorm's running statistics", False,
                 "Those are buffers, not parameters, and do not depend on the image size.")],
               hint="Which kind of layer has weights whose shape depends on the map's size?",
               mistakes=["Thinking that convolution weights scale with the image.",
                         "Comparing published parameter counts without checking the input size behind them."]),
        numeric("effnet-last-map", "hard",
                "EfficientNet-B0 halves the resolution five times (stride-2 convolutions with 'same' "
                "padding). What is the side of its last feature map for a 28x28 Fashion-MNIST image?",
                side,
                "28, 14, 7, 4, 2, 1: a single position, so the last stages see no spatial layout and their "
                "depthwise filters fall mostly on padding.",
                hint="With padding, each stride-2 step gives ceil(side / 2).",
                mistakes=["Rounding 7 / 2 down to 3 instead of up to 4.",
                          "Assuming that an ImageNet network suits 28-pixel images unchanged."],
                wrong={0: "Padded stride-2 convolutions never shrink a map below one position."}),
        choice("vit-data", "hard",
               "Why does a Vision Transformer need more data (or augmentation) than a CNN of similar size?",
               [("It has no built-in notion of 'nearby': it must learn that neighbouring pixels belong together", True,
                 "A convolution assumes locality from the start; self-attention lets every token see every other."),
                ("Its patches lose colour information", False, "Patch embeddings keep all channels."),
                ("Transformers cannot use BatchNorm, so they train slower", False,
                 "ViTs use LayerNorm; the data appetite comes from the missing locality prior."),
                ("It has many more parameters than any CNN", False,
                 "ViT-S has 21.6 M parameters, fewer than VGG-16; the size is not the reason.")],
               hint="What does a 3x3 convolution assume that attention does not?",
               mistakes=["Blaming the parameter count for what is a missing prior."]),
    ]
