"""Self-check for "Evaluation and error analysis". Precision and recall come from
cvbook.evaluate.metrics."""

import torch

from cvbook.evaluate.metrics import classification_report, confusion_matrix
from cvbook.quiz import choice, numeric

# A small confusion matrix (rows: true class, columns: prediction).
MATRIX = [[8, 2, 0],
          [1, 6, 3],
          [0, 1, 9]]
CLASSES = ["shirt", "coat", "pullover"]


def _targets_and_preds():
    targets, preds = [], []
    for t, row in enumerate(MATRIX):
        for p, count in enumerate(row):
            targets += [t] * count
            preds += [p] * count
    return torch.tensor(targets), torch.tensor(preds)


def questions():
    targets, preds = _targets_and_preds()
    assert confusion_matrix(targets, preds, 3).tolist() == MATRIX
    report = classification_report(targets, preds, CLASSES)
    precision = round(report["coat"]["precision"], 3)
    recall = round(report["coat"]["recall"], 3)
    table = "\n".join("  ".join(f"{c:>8}" for c in [name, *row]) for name, row in zip(CLASSES, MATRIX))
    code = f"{'true / pred':>8}  " + "  ".join(f"{c:>8}" for c in CLASSES) + "\n" + table
    return [
        choice("top-k", "easy",
               "What does top-2 accuracy count as right?",
               [("A prediction whose true class is among the two highest scores", True,
                 "Top-1 is the usual accuracy; top-k forgives a near miss in the first k guesses."),
                ("A prediction made with at least 2 % confidence", False, "Top-k is about ranks, not probabilities."),
                ("The two most accurate classes", False, "It is computed over all images, whatever their class."),
                ("Two models that agree", False, "It is a property of one model's ranking.")],
               hint="A model's output is a ranking of all classes.",
               mistakes=["Quoting top-5 on a ten-class problem, where it is close to 100 % for any sensible model."]),
        choice("cm-diagonal", "easy",
               "In a confusion matrix whose rows (true classes) are each normalised to sum to 1, what is the diagonal?",
               [("The precision of each class", False, "Precision divides by the column sum, the images predicted as the class."),
                ("The recall of each class", True, "Each row holds the images of one true class; the diagonal is "
                 "the share of them that was found."),
                ("The F1 score of each class", False, "F1 combines precision and recall."),
                ("The accuracy", False, "Accuracy is the trace over the total of the unnormalised matrix.")],
               hint="Rows are true classes.",
               mistakes=["Mixing up the row and column conventions of two libraries."]),
        numeric("precision", "medium",
                "From the confusion matrix shown (rows: true class), what is the precision of `coat`? Three decimals.",
                precision,
                "Precision divides the diagonal cell by its column: of the images predicted coat, how many are coats.",
                tolerance=0.0015,
                hint="Use the coat column: 6 right out of everything predicted coat.",
                mistakes=["Dividing by the row (that is recall).", "Dividing by the total of the matrix."],
                wrong={recall: "That is the recall (divided by the row); precision divides by the column."},
                code=code),
        numeric("recall", "medium",
                "Same matrix: what is the recall of `coat`? Three decimals.",
                recall,
                "Recall divides the diagonal cell by its row: of the coats, how many were found.",
                tolerance=0.0015,
                hint="Use the coat row.",
                mistakes=["Dividing by the column (that is precision)."],
                wrong={precision: "That is the precision (divided by the column); recall divides by the row."},
                code=code),
        choice("macro-weighted", "medium",
               "How do the macro and weighted averages of a classification report differ?",
               [("Macro weights every class equally; weighted weights them by their support", True,
                 "With balanced classes, as in Fashion-MNIST's test set, the two agree."),
                ("Macro is over images, weighted over classes", False, "Both average per-class scores."),
                ("Weighted ignores the smallest classes", False, "It gives them less weight, not none."),
                ("They are the same thing", False, "They differ whenever classes have different sizes.")],
               hint="Support is the number of true images of a class.",
               mistakes=["Reporting the weighted average on imbalanced data and hiding a weak rare class."]),
        choice("flops-macs", "medium",
               "torch's `FlopCounterMode` reports 200 M FLOPs for one forward pass. How many multiply-adds is that?",
               [("400 M", False, "That doubles again; FLOPs are already two per multiply-add."),
                ("200 M", False, "FLOPs and MACs differ by a factor of two."),
                ("100 M", True, "It counts two FLOPs (one multiply, one add) per multiply-add."),
                ("It depends on the batch size", False, "The question fixes one forward pass; the ratio is always 2.")],
               hint="One multiply-add is how many floating-point operations?",
               mistakes=["Comparing one paper's FLOPs with another's MACs."]),
        choice("threads-latency", "hard",
               "Why does a second CPU core help batch 64 more than batch 1?",
               [("At batch 1 there is too little work per layer to share; overheads dominate", True,
                 "A large batch gives each layer enough arithmetic to split between threads."),
                ("Batch 1 cannot use more than one core by design", False, "It can; it just gains little."),
                ("The second core is only used for data loading", False, "PyTorch's intra-op threads split the layers' work."),
                ("Batch 64 runs in lower precision", False, "Both run in float32.")],
               hint="What does each layer have to divide between the threads?",
               mistakes=["Measuring throughput and quoting it as latency."]),
        choice("confident-mistakes", "hard",
               "The gallery shows the mistakes the model was most sure of, and some look like labelling errors. "
               "What is the gallery for?",
               [("To decide whether more data, more resolution or a better model would help", True,
                 "Looking at mistakes is the fastest way to learn what limits the model."),
                ("To remove the hard test images and raise the accuracy", False,
                 "Editing the test set to flatter a model invalidates the score."),
                ("To prove the model is overconfident", False, "Confident mistakes alone do not measure calibration."),
                ("To find bugs in the confusion matrix", False, "The matrix is computed; the gallery shows its images.")],
               hint="What could you change after looking at the pictures?",
               mistakes=["Cleaning only the test set's labels and comparing with results on the original."]),
    ]
