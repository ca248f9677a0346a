"""Self-check for "Results". The threshold rule is cvbook.train.headline.time_to_accuracy;
sizes use cvbook.data.formats."""

from cvbook.data import formats
from cvbook.quiz import choice, numeric
from cvbook.train.headline import time_to_accuracy

ACCURACIES = [91.8, 93.1, 92.7, 93.2, 93.5, 93.4]


def questions():
    epoch, _ = time_to_accuracy({"test_acc": ACCURACIES, "epoch_time_s": [60.0] * len(ACCURACIES)},
                                thresholds=[93.0])[93.0]
    first_touch = next(i for i, a in enumerate(ACCURACIES, start=1) if a >= 93.0)
    mib = round(4_000_000 / formats.MiB, 2)
    return [
        choice("macro", "easy",
               "The quality table gives precision, recall and F1 as macro averages. What does that mean?",
               [("Every class counts the same, whatever its number of images", True,
                 "On Fashion-MNIST's balanced test set, macro and weighted averages agree."),
                ("Only the largest classes count", False, "That would be closer to a weighted average."),
                ("They are computed over all images at once", False, "That is how accuracy is computed."),
                ("They are the best class's scores", False, "An average, not a maximum.")],
               hint="Macro: an average over classes.",
               mistakes=["Comparing a macro F1 with another paper's weighted F1."]),
        choice("stored-results", "easy",
               "Why does the results page load stored numbers and print the command that made them?",
               [("Training several networks takes longer than building a book should; the command reproduces them", True,
                 "The page says which numbers are live and which are stored, and how to remake them."),
                ("Because results change on every run", False, "They would, a little; the reason is the cost of training."),
                ("To hide the training code", False, "The command and the library are both shown."),
                ("Because the models cannot run on a CPU", False, "They all do, only slowly.")],
               hint="Think of how long a book build may take.",
               mistakes=["Quoting a number without the command and machine that produced it."]),
        numeric("mib", "medium",
                "The size column is in MB (10^6 bytes). A model file of 4,000,000 bytes: how many MiB is that? "
                "Two decimals.",
                mib,
                "4,000,000 / 2^20: a MiB is 1,048,576 bytes, so the MiB figure is about 5 % smaller.",
                tolerance=0.005,
                hint="Divide by 1,048,576.",
                mistakes=["Treating MB and MiB as the same unit."],
                wrong={4.0: "That is MB; a MiB is 2^20 bytes."}),
        numeric("time-to-accuracy", "medium",
                "Test accuracy after each epoch: 91.8, 93.1, 92.7, 93.2, 93.5, 93.4. By the chapter's rule, "
                "after which epoch (counting from 1) has the run reached 93 %?",
                epoch,
                "The first epoch after which the accuracy never falls below 93 % again, as "
                "`time_to_accuracy` computes: epoch 2 crossed it and fell back.",
                hint="Find the last epoch below 93 %; the answer is the one after it.",
                mistakes=["Counting the first epoch that touches the threshold."],
                wrong={first_touch: "That epoch crossed 93 % and the next fell below it: a lucky epoch does not count."}),
        choice("smoothed-loss", "medium",
               "Why can the training loss in the curves never reach zero?",
               [("It includes label smoothing, whose targets are never one-hot", True,
                 "The lowest possible loss is the entropy of the smoothed target; the validation loss is plain "
                 "cross-entropy."),
                ("Because of float32 rounding", False, "Rounding is far too small to matter."),
                ("Because of dropout", False, "Dropout makes the loss noisier from step to step, but it cannot keep "
                 "it above zero; the smoothed targets do."),
                ("It can, after enough epochs", False, "Not with smoothed targets.")],
               hint="What does the target look like with label smoothing?",
               mistakes=["Comparing a smoothed training loss with an unsmoothed validation loss as if they were the same."]),
        choice("track-test", "medium",
               "The headline runs score the test set after every epoch (`--track_test`). What may that curve be used for?",
               [("To draw the curve only: the test set chooses nothing", True,
                 "Choosing an epoch, a recipe or a hyper-parameter by test accuracy would make the test score optimistic."),
                ("To stop training at the best test epoch", False, "That would choose with the test set."),
                ("To tune the learning rate", False, "Use the validation split for that."),
                ("To average the test scores of all epochs", False, "The final model is scored once.")],
               hint="Which split is for choosing?",
               mistakes=["Early stopping on test accuracy."]),
        choice("cosine-early-stop", "hard",
               "A 40-epoch cosine run reached 93 % only in its last third. Would stopping it after 10 epochs give "
               "what a 10-epoch run gives?",
               [("Yes: the first 10 epochs are the same", False, "They are not: a 10-epoch schedule has already "
                 "decayed its rate by then."),
                ("No: the accuracy climbs when the cosine brings the rate down, so each budget needs its own schedule", True,
                 "Stopped early, the long run is still at a high learning rate, bumping along."),
                ("Yes, if the learning rate is the same at the start", False, "The shape of the schedule decides, not its start."),
                ("No, because warm-up lasts 10 epochs", False, "The warm-up is two epochs.")],
               hint="Where is the learning rate of each schedule after 10 epochs?",
               mistakes=["Reading a long run's curve as the result of shorter budgets."]),
        choice("flops-cpu", "hard",
               "Model A has three times the FLOPs of model B but runs faster on the CPU. How can that be?",
               [("B's layers do little arithmetic per byte moved (depthwise convolutions, normalisation, small tensors)", True,
                 "Memory-bound layers run far below the processor's peak, so FLOPs are not the whole story."),
                ("The FLOP counter is wrong", False, "It counts correctly; FLOPs are just not time."),
                ("A uses a larger batch", False, "The table times both at batch 1."),
                ("It cannot be; more FLOPs always take longer", False, "Only when arithmetic is the bottleneck; the Tiniest's many small, memory-bound "
                 "operations run far slower per FLOP than plain 3x3 convolutions.")],
               hint="What limits a layer that moves many bytes but computes little?",
               mistakes=["Choosing a model for a CPU by FLOPs alone."]),
    ]
