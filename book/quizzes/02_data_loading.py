"""Self-check for "Data loading, transforms and normalisation". Batch counts come from
PyTorch's own DataLoader."""

from torch.utils.data import DataLoader

from cvbook.quiz import choice, numeric


def questions():
    n_batches = len(DataLoader(range(60_000), batch_size=256))
    n_full = len(DataLoader(range(60_000), batch_size=256, drop_last=True))
    last_batch = 60_000 - n_full * 256
    return [
        choice("dataset-methods", "easy",
               "Which two methods must a map-style PyTorch `Dataset` define?",
               [("`__len__` and `__getitem__`", True,
                 "The number of examples, and example number `i`: that is all a DataLoader asks for."),
                ("`__iter__` and `__next__`", False,
                 "Those make an iterator; a map-style Dataset is indexed, and the DataLoader does the iterating."),
                ("`load` and `transform`", False, "No such names are required; the transform is whatever "
                 "`__getitem__` applies."),
                ("`__init__` and `forward`", False, "`forward` belongs to `nn.Module`, not to a Dataset.")],
               hint="The DataLoader needs to know how many examples there are and how to fetch one.",
               mistakes=["Writing an iterator instead of an indexable dataset.",
                         "Loading every file in `__getitem__` again instead of listing them once in `__init__`."]),
        choice("shuffle-eval", "easy",
               "Where should a DataLoader use `shuffle=True`?",
               [("For training; evaluation keeps the stored order", True,
                 "A new random order every epoch helps training; for evaluation the order does not matter "
                 "and a fixed one makes runs comparable."),
                ("For evaluation only, so the test score is not biased by the order", False,
                 "The accuracy over the whole test set does not depend on the order at all."),
                ("For both, always", False, "Shuffling evaluation data gains nothing and makes outputs harder to "
                 "compare between runs."),
                ("Never: shuffling is expensive", False,
                 "One random permutation of the indices per epoch costs microseconds.")],
               hint="Which of the two phases changes the weights depending on the order of the batches?",
               mistakes=["Shuffling the test set and then comparing per-image outputs between runs.",
                         "Forgetting to shuffle training data stored sorted by class."]),
        choice("pin-memory", "easy",
               "What does `pin_memory=True` do on a machine without a GPU?",
               [("It makes batches load twice as fast", False, "Pinned memory speeds up copies to a GPU; "
                 "without one there is no such copy."),
                ("Nothing useful", True, "PyTorch itself says so; pinned (page-locked) memory only helps "
                 "host-to-GPU copies."),
                ("It keeps the dataset in the CPU cache", False, "Pinning is about page-locked RAM, not caches."),
                ("It starts one worker per core", False, "That is `num_workers`.")],
               hint="Pinned memory is about copies from the host to a device.",
               mistakes=["Copying a GPU recipe's loader settings to a CPU-only machine."]),
        numeric("n-batches", "medium",
                "A DataLoader over the 60,000 training images uses `batch_size=256` and the default "
                "`drop_last=False`. How many batches does one epoch yield?",
                n_batches,
                "60,000 / 256 = 234.375, so 234 full batches and one smaller last batch.",
                hint="Divide and round up: the remainder still forms a batch.",
                mistakes=["Rounding down, which is what `drop_last=True` does.",
                          "Answering with a fraction."],
                wrong={n_full: "That is the count with `drop_last=True`; by default the smaller last batch is kept."}),
        numeric("last-batch", "medium",
                "Same loader: how many images are in the last batch of the epoch?",
                last_batch,
                f"{n_full} full batches take {n_full * 256:,} images, leaving {last_batch}.",
                hint="60,000 minus the images in the full batches.",
                mistakes=["Assuming every batch is full.", "Confusing the remainder with the batch size."],
                wrong={256: "Only the full batches hold 256 images; 60,000 is not a multiple of 256."}),
        choice("batch-trap", "medium",
               "You apply `v2.RandomCrop(28, padding=4)` once to a whole batch tensor `(N, 1, 28, 28)`. What happens?",
               [("Each image gets its own random crop", False, "A v2 transform draws its random parameters "
                 "once per call, not once per image."),
                ("Every image of the batch gets the same crop", True,
                 "One draw per call: all N images are cut at one offset, and flips mirror all or none."),
                ("It raises an error because it expects a single image", False,
                 "v2 transforms accept batch tensors without complaint, which is why the trap is silent."),
                ("It crops only the first image", False, "The same crop is applied to all of them.")],
               hint="Count how many times the transform draws a random number.",
               mistakes=["Moving augmentation to the batch for speed without checking the draws.",
                         "Trusting that 'no error' means 'correct'."]),
        choice("per-image-std", "hard",
               "Why is the average of per-image standard deviations smaller than the standard deviation "
               "of all training pixels?",
               [("Because of float32 rounding", False, "The chapter's statistics are accumulated in float64; "
                 "the gap is far larger than rounding."),
                ("It leaves out the variance between the images' means", True,
                 "By the law of total variance, the total is the mean variance within images plus the "
                 "variance between their means; the shortcut drops the second part."),
                ("Because the test set is left out", False, "Both numbers are computed on the training set."),
                ("It is not smaller; the two are the same quantity", False,
                 "They differ: on Fashion-MNIST the shortcut leaves a spread well away from 1 after normalising.")],
               hint="Dark, small garments and bright, large ones have different mean brightness.",
               mistakes=["Averaging per-batch or per-image standard deviations when streaming a dataset.",
                         "Computing normalisation statistics on the test set."]),
        choice("imagenet-stats", "hard",
               "You fine-tune an ImageNet-pretrained backbone on your own photos. Which statistics should "
               "`Normalize` use?",
               [("Your training set's own mean and std", False, "The pretrained weights expect inputs on the "
                 "scale they were trained on."),
                ("ImageNet's mean and std, `[0.485, 0.456, 0.406]` and `[0.229, 0.224, 0.225]`", True,
                 "A pretrained model expects its inputs normalised as in its pretraining, whatever your data's "
                 "own statistics are."),
                ("Your test set's mean and std", False, "The test set stands for unseen data and chooses nothing."),
                ("None: BatchNorm makes normalisation unnecessary", False,
                 "The first convolution still sees the raw scale, and the backbone's BatchNorm statistics "
                 "were learned on ImageNet's normalised inputs.")],
               hint="The statistics belong to the weights, not to the new data.",
               mistakes=["Recomputing statistics for a pretrained model.",
                         "Using the ImageNet numbers for a model trained from scratch on other data."]),
        choice("workers-two-cores", "hard",
               "On a 2-core CPU, why may `num_workers=2` not speed up training, although the common advice is "
               "4 to 8 workers?",
               [("Workers are disabled on Linux", False, "They work; they are separate processes."),
                ("The workers compete with the main process and the model for the same two cores", True,
                 "The advice assumes a GPU trains while many idle cores prepare data; here every core is busy."),
                ("Workers make the batches smaller", False, "The batch size is `batch_size`, whatever the workers."),
                ("Workers only help with `pin_memory=True`", False, "The two settings are independent.")],
               hint="Where does the training itself run on this machine?",
               mistakes=["Copying loader settings from a GPU machine.",
                         "Timing only the first batch, which includes starting the workers."]),
    ]
