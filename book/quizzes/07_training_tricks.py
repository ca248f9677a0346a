"""Self-check for "Training tricks, measured". Targets and learning rates come from
cvbook.train."""

import torch

from cvbook.quiz import choice, numeric
from cvbook.train.losses import smooth_targets
from cvbook.train.optim import warmup_cosine_lr


def questions():
    smoothed = smooth_targets(torch.tensor([3]), num_classes=10, smoothing=0.1)[0]
    true_share, other_share = round(smoothed[3].item(), 6), round(smoothed[0].item(), 6)
    mid_lr = warmup_cosine_lr(550, base_lr=0.1, total_steps=1000, warmup_steps=100)
    return [
        choice("warmup", "easy",
               "Why does a warm-up start the learning rate small?",
               [("The first steps of a fresh network produce large, badly aimed gradients", True,
                 "A few careful steps first; the rate then rises to its peak."),
                ("To save time in the first epoch", False, "Small steps save no time."),
                ("Because BatchNorm needs statistics first", False,
                 "A network with BatchNorm tolerates a high initial rate well; warm-up matters little there."),
                ("To end the run with small steps", False, "That is what the cosine decay at the end does.")],
               hint="Think of where a randomly initialised network's gradients point.",
               mistakes=["Confusing warm-up (start) with decay (end)."]),
        choice("seed-noise", "easy",
               "Arm B beats arm A by 0.2 points; each arm's three seeds span 0.5 points. What do you conclude?",
               [("B is better", False, "The difference is smaller than the spread between seeds."),
                ("The difference is within seed noise", True,
                 "A verdict needs a difference larger than the range between seeds of both arms."),
                ("A is better", False, "Nothing points that way either."),
                ("B is 0.2 points better in general", False, "One short budget on one dataset cannot say that.")],
               hint="Compare the difference with the yardstick the chapter measures first.",
               mistakes=["Believing one lucky run.", "Reporting a gain without its spread."]),
        numeric("label-smoothing", "medium",
                "With label smoothing 0.1 and ten classes, what probability does the target give the true class?",
                true_share,
                f"(1 - 0.1) x 1 + 0.1 / 10; each other class gets {other_share}.",
                tolerance=1e-6,
                hint="q = (1 - epsilon) x onehot + epsilon / K, and the true class gets both terms.",
                mistakes=["Forgetting that the true class also receives its share epsilon / K.",
                          "Spreading epsilon over the K - 1 other classes only."],
                wrong={0.9: "The true class also receives its share 0.1 / 10 of the spread mass.",
                       other_share: "That is what each of the other classes gets."}),
        choice("adamw", "medium",
               "What distinguishes AdamW from Adam with weight decay?",
               [("AdamW applies weight decay directly to the weights, not through the gradient", True,
                 "Decoupled decay is not rescaled by Adam's per-weight step sizes."),
                ("AdamW has no momentum", False, "Both keep running averages of the gradient."),
                ("AdamW uses a 30 times larger learning rate", False,
                 "Adaptive optimisers use smaller learning rates than SGD, about 30 times smaller here."),
                ("AdamW decays biases and normalisation scales too", False,
                 "cvbook decays only weight matrices and kernels, whichever optimiser is used.")],
               hint="The W is in the name.",
               mistakes=["Comparing optimisers at one shared learning rate."]),
        numeric("cosine-mid", "medium",
                "Warm-up for 100 steps to 0.1, then half a cosine down to 0 at step 1,000. What is the learning "
                "rate at step 550, half-way through the cosine?",
                round(mid_lr, 6),
                "Half-way through the cosine, 0.5 x (1 + cos(pi/2)) = 0.5, so half the peak rate, as "
                "`warmup_cosine_lr` computes.",
                tolerance=1e-6,
                hint="The cosine part starts after the warm-up, not at step 0.",
                mistakes=["Measuring the cosine's progress from step 0 instead of from the end of the warm-up."],
                wrong={0.1: "That is the peak; half-way through the cosine the rate has fallen to half."}),
        numeric("ddp-batch", "medium",
                "`torchrun` starts two processes, each with `--batch_size 64`. How many images does one "
                "optimiser step see?",
                128,
                "Each process trains on its share; DDP averages the gradients, as one process with batch 128 would.",
                hint="Every process computes a gradient on its own batch, then they are averaged.",
                mistakes=["Forgetting to scale the learning rate when the effective batch grows."],
                wrong={64: "That is one process's share; the gradients of both are averaged into one step.",
                       32: "`--batch_size` is per process, not split between them."}),
        choice("linear-scaling", "hard",
               "Batch 128 trains well at learning rate 0.1. By the linear scaling rule, what rate should batch 512 use?",
               [("0.1", False, "Four times fewer steps at the same rate learn less per epoch."),
                ("0.2", False, "That is the square-root rule, not the linear one."),
                ("0.4", True, "Multiply the batch by k, the learning rate by k: here k = 4."),
                ("0.025", False, "Larger batches give less noisy gradients and allow larger, not smaller, steps.")],
               hint="k = 512 / 128.",
               mistakes=["Keeping the learning rate when the batch grows.",
                         "Scaling to very large batches without a warm-up."]),
        choice("ema-decay", "hard",
               "Why does the chapter's EMA arm use decay 0.99 rather than the common 0.999?",
               [("0.999 averages over about 1,000 steps, more than the short run has", True,
                 "The average would still be dominated by early weights; the window 1 / (1 - decay) must "
                 "suit the run's length."),
                ("0.999 is numerically unstable in float32", False, "It is perfectly representable."),
                ("0.99 gives a smoother average", False, "It gives a shorter, less smooth one."),
                ("EMA requires the decay to equal the momentum", False, "The two are unrelated.")],
               hint="Compute 1 / (1 - decay) and compare it with the number of steps.",
               mistakes=["Copying an EMA decay from a much longer recipe."]),
        choice("resume", "hard",
               "A resumed run must reach exactly the weights of an uninterrupted one. Besides the weights, what "
               "must the checkpoint hold?",
               [("Only the epoch number", False, "Momentum, the schedule and the random draws would all differ."),
                ("The optimiser state, the schedule position, the EMA and every random generator's state", True,
                 "With all of it, the resumed run draws the same batches and augmentations and makes the same updates."),
                ("The training data", False, "The data is unchanged; what matters is the order it is drawn in."),
                ("Nothing else: weights determine the rest", False,
                 "Momentum buffers and the learning rate schedule are not in the weights.")],
               hint="List everything that changes from one step to the next.",
               mistakes=["Saving `model.state_dict()` only and calling it a resumable checkpoint.",
                         "Writing checkpoints in place, so a crash while saving loses the previous one."]),
    ]
