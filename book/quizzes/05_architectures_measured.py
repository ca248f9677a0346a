"""Self-check for "The architectures, measured". Parameters and multiply-adds come from
cvbook.evaluate.efficiency; the BatchNorm update from PyTorch's own layer."""

import torch
from torch import nn

from cvbook.evaluate.efficiency import count_macs, count_parameters
from cvbook.quiz import choice, numeric


def questions():
    conv = nn.Conv2d(64, 128, 3, padding=1)
    params = count_parameters(conv)
    weights = conv.weight.numel()
    macs = count_macs(conv, (1, 64, 56, 56))
    bn = nn.BatchNorm1d(1)
    bn(torch.tensor([[4.0], [6.0]]))     # one training step on a batch whose mean is 5
    running_mean = round(bn.running_mean.item(), 6)
    return [
        choice("hook", "easy",
               "What is a forward hook?",
               [("A function PyTorch calls with a module's output every time the module runs", True,
                 "cvbook registers one per layer, runs the model once and removes them: the model is unchanged."),
                ("A layer inserted into the model to copy its activations", False,
                 "A hook is not a layer; the model's structure does not change."),
                ("A gradient that flows back through a skip connection", False,
                 "That is the residual path; backward hooks exist too, but this is about outputs."),
                ("A way to freeze a layer's weights", False, "Freezing is `requires_grad = False`.")],
               hint="It is registered on a module and removed afterwards.",
               mistakes=["Forgetting to remove hooks, which then run on every later forward pass."]),
        choice("deploy-measure", "easy",
               "You must pick a model for an app that classifies one photo at a time on a phone CPU. Which "
               "measurement decides?",
               [("The parameter count", False, "Parameters say how large the file is, not how fast it runs."),
                ("The multiply-adds", False, "MACs do not predict latency: depthwise layers and many small layers "
                 "run far below the CPU's peak."),
                ("Latency at batch 1, measured on that kind of CPU", True,
                 "Measure the cost you will pay, on the machine and batch size you will deploy on."),
                ("Latency at batch 64 on a server", False, "Batching amortises per-layer overhead that a "
                 "one-photo app pays in full.")],
               hint="The three measures rank models differently.",
               mistakes=["Ranking models by FLOPs alone.", "Quoting another machine's latency."]),
        numeric("conv-params", "medium",
                "How many parameters has `nn.Conv2d(64, 128, kernel_size=3, padding=1)`?",
                params,
                "3 x 3 x 64 x 128 weights plus 128 biases, as `count_parameters` counts.",
                hint="k x k x C_in x C_out weights, plus one bias per output channel.",
                mistakes=["Forgetting the biases.", "Multiplying by the image size: parameters do not depend on it."],
                wrong={weights: "That leaves out the 128 biases."}),
        numeric("conv-macs", "medium",
                "How many multiply-adds does that layer do on one 64x56x56 input (padding 1 keeps 56x56)?",
                macs,
                "Each of the 128 x 56 x 56 outputs needs 3 x 3 x 64 multiply-adds; `count_macs` (torch's "
                "FlopCounterMode, halved) gives the same.",
                hint="Weights times output positions: every weight is used once per position.",
                mistakes=["Reporting FLOPs (two per multiply-add) as MACs.",
                          "Counting the biases as multiply-adds, as torchinfo does."],
                wrong={2 * macs: "That is the FLOP count: two FLOPs per multiply-add.",
                       params * 56 * 56: "That counts each bias as a multiply-add, as torchinfo's figure "
                       "does; FlopCounterMode counts only the multiplications of the convolution.",
                       weights: "That is the number of weights; each is used at every one of the 56 x 56 positions."}),
        choice("params-vs-macs", "medium",
               "AlexNet has far more parameters than ResNet-18 at 28x28, but ResNet-18 does far more "
               "multiply-adds. Why?",
               [("A convolution weight is used at every position of the map, a Linear weight once", True,
                 "AlexNet's parameters sit in its fully connected layers; ResNet-18 applies its filters at "
                 "full resolution."),
                ("ResNet-18's skip connections add multiply-adds", False, "An addition per element is negligible."),
                ("AlexNet's parameters are stored in float16", False, "Both are float32."),
                ("The MAC counter ignores Linear layers", False, "It counts matrix products too.")],
               hint="How often is each weight used in one forward pass?",
               mistakes=["Assuming that parameters and arithmetic rank models the same way."]),
        choice("batch1-latency", "medium",
               "Why is EfficientNet-B0 slow at batch 1 on a CPU, although it does little arithmetic?",
               [("Its latency is dominated by its many small layers and depthwise convolutions", True,
                 "At batch 1, per-layer overhead, not arithmetic, decides; depthwise layers use the vector "
                 "units poorly."),
                ("It has the most parameters of all", False, "It has fewer than VGG-16 or AlexNet."),
                ("It runs in float64", False, "Everything here is float32."),
                ("Its input is resized to 224x224", False, "It takes the 28x28 image as it is.")],
               hint="What does batching amortise?",
               mistakes=["Predicting latency from MACs."]),
        choice("bn-eval", "hard",
               "After 32 training steps, a ResNet reaches a fair training accuracy but is near chance in eval "
               "mode. What explains it without any weight being wrong?",
               [("The test images are harder", False, "Re-estimating the BatchNorm statistics on the training "
                 "images fixes the score with the same weights, so the images are not the cause."),
                ("BatchNorm's running statistics still partly remember their starting values", True,
                 "They move only 10 % of the way to each batch's statistics; in eval mode the mismatch "
                 "compounds from layer to layer."),
                ("Dropout is switched off in eval mode", False, "That would make eval mode better, not worse."),
                ("The optimiser state is lost in eval mode", False, "`eval()` changes layer behaviour, not the optimiser.")],
               hint="Which layer behaves differently in training and evaluation mode?",
               mistakes=["Judging an architecture by a very short run scored in eval mode."]),
        numeric("bn-momentum", "hard",
                "A fresh `nn.BatchNorm1d(1)` (running mean 0, momentum 0.1) sees one training batch whose "
                "mean is 5. What is its running mean afterwards?",
                running_mean,
                "running = (1 - 0.1) x 0 + 0.1 x 5: the average moves 10 % of the way per batch.",
                tolerance=1e-6,
                hint="PyTorch's momentum is the weight of the new batch, not of the old average.",
                mistakes=["Reading momentum as the weight of the old value (that gives 4.5).",
                          "Assuming the running mean jumps to the batch mean."],
                wrong={4.5: "That treats 0.1 as the weight of the old value; in PyTorch it weights the new batch.",
                       5: "The running mean moves only 10 % of the way per batch."}),
        choice("short-run", "hard",
               "Every architecture trains for the same 32 steps. What does the ranking of their test accuracies tell you?",
               [("Which architecture is best once trained to convergence", False,
                 "A short budget cannot tell; the ranking can change completely with a full run."),
                ("How quickly each starts to learn, which also depends on normalisation, initialisation and "
                 "learning rate", True, "To rank the architectures themselves, train each to convergence."),
                ("Which one has the fewest parameters", False, "That is counted, not trained."),
                ("Nothing at all", False, "It is a fair measure of early learning speed, as long as it is read as that.")],
               hint="What does a short, equal budget hold fixed, and what not?",
               mistakes=["Publishing a short-run ranking as an architecture ranking."]),
    ]
