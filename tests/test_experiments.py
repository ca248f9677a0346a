"""cvbook.experiments: the A/B bookkeeping the training-tricks chapter relies on, and
tools/experiments.py, which made the book's stored A/B tables with it."""

import json
import sys
from pathlib import Path

import pytest
import torch

from cvbook.evaluate import markdown_table
from cvbook.experiments import SmallCNN, Text, json_part, run_arm, trick_rows
from cvbook.data import ImageSet

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import experiments as tool  # noqa: E402 - tools/experiments.py


def _result(arms: dict[str, list[float]]) -> dict:
    return {"tricks": {"t": {label: {"overrides": {}, "runs": [
        {"seed": i, "val_acc": a, "train_time_s": 1.0 + i} for i, a in enumerate(accs)]}
        for label, accs in arms.items()}}}


def test_trick_rows_judges_differences_against_the_seed_range():
    result = _result({"base": [0.80, 0.82, 0.81], "big gain": [0.90, 0.91, 0.89],
                      "tiny gain": [0.815, 0.83, 0.80], "loss": [0.70, 0.71, 0.69]})
    rows = {r["arm"]: r for r in trick_rows(result, "t")}
    assert rows["base"]["verdict"] == "baseline" and rows["base"]["delta"] == 0
    assert rows["big gain"]["verdict"] == "better"
    assert rows["big gain"]["delta"] == pytest.approx(0.09)
    assert rows["tiny gain"]["verdict"] == "within seed noise"
    assert rows["loss"]["verdict"] == "worse"
    assert (rows["big gain"]["low"], rows["big gain"]["high"]) == (0.89, 0.91)
    assert rows["base"]["train_time_s"] == 2.0  # the median of 1, 2, 3


def test_trick_rows_names_the_tricks_it_has():
    with pytest.raises(ValueError, match="found t"):
        trick_rows(_result({"a": [0.5]}), "missing")


def test_markdown_table_and_text():
    assert markdown_table(["a", "b"], [[1, "x"]]).splitlines() == ["| a | b |", "|---|---|", "| 1 | x |"]
    assert repr(Text("Shirt")) == "Shirt"


def test_small_cnn_shape_and_size():
    model = SmallCNN()
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert sum(p.numel() for p in model.parameters()) < 30_000


def test_run_arm_trains_and_returns_json_ready_history(tmp_path):
    g = torch.Generator().manual_seed(0)
    data = {s: ImageSet(torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=g),
                        torch.randint(0, 10, (n,), generator=g), tuple("abcdefghij"))
            for s, n in (("train", 256), ("val", 64))}
    run = run_arm(data, {"label_smoothing": 0.1, "batch_size": 64}, seed=3, epochs=2, output_dir=tmp_path)
    assert run["history"]["epoch"] == [1, 2]
    assert run["val_acc"] == run["history"]["val_acc"][-1]
    json.dumps(json_part(run))  # the stored part is plain JSON
    assert (tmp_path / "history.json").is_file()
    # the same seed gives the same run
    again = run_arm(data, {"label_smoothing": 0.1, "batch_size": 64}, seed=3, epochs=2)
    assert again["history"]["train_loss"] == run["history"]["train_loss"]


def test_main_rejects_bad_sizes(tmp_path):
    with pytest.raises(ValueError, match="n-train"):
        tool.main(["tricks", "--n_train", "10", "--out", str(tmp_path)])  # the older spelling still works
    with pytest.raises(ValueError, match="n-train"):
        tool.main(["tricks", "--n-train", "10", "--out", str(tmp_path)])


def test_main_needs_an_output_folder():
    with pytest.raises(SystemExit):
        tool.main(["tricks"])



def test_score_logits_gives_the_quality_columns_and_refuses_a_wrong_shape():
    from cvbook.experiments import score_logits

    labels = torch.tensor([0, 1, 2, 3, 4, 4])
    predicted = torch.tensor([0, 1, 2, 3, 4, 3])  # the last image wrong
    logits = torch.nn.functional.one_hot(predicted, 5).float() + torch.linspace(0, 0.1, 5)
    scores = score_logits(logits, labels, tuple("abcde"))
    assert scores["accuracy"] == pytest.approx(5 / 6) and scores["top5"] == 1.0
    assert scores["confusion"][4] == [0, 0, 0, 1, 1] and scores["confusion"][3] == [0, 0, 0, 1, 0]
    assert scores["recall"] == pytest.approx((4 + 0.5) / 5)
    with pytest.raises(ValueError, match=r"expected \(6, 5\)"):
        score_logits(logits[:, :4], labels, tuple("abcde"))


def test_trained_needs_a_run_and_its_command(tmp_path):
    with pytest.raises(SystemExit):
        tool.main(["trained", "--out", str(tmp_path), "--run", str(tmp_path)])


def test_trained_stores_logits_that_score_as_the_model_does(tmp_path, monkeypatch, fashion_mnist_available):
    """`tools/experiments.py trained`: the stored test logits give the model's own scores,
    and the record rebuilds its architecture (for the cost columns). On 600 of the test
    images (the tool reads all 10,000), to keep the test quick."""
    import cvbook.data
    from cvbook.experiments import score_logits, score_model
    from cvbook.models import create_model
    from cvbook.files import atomic_save

    test = cvbook.data.load_splits("fashion-mnist")["test"].subset(torch.arange(0, 6000, 10))
    monkeypatch.setattr(cvbook.data, "load_splits", lambda name: {"test": test})

    torch.manual_seed(0)
    model = create_model("tiniest", num_classes=10, in_chans=1, img_size=28).eval()
    meta = {"model": "tiniest", "num_classes": 10, "in_chans": 1, "img_size": 28, "mean": [0.286], "std": [0.353]}
    run = tmp_path / "run"
    atomic_save({"model": model.state_dict(), "meta": meta}, run / "best_model.pth")
    (run / "history.json").write_text(json.dumps({"epoch": [1, 2], "epoch_time_s": [3.0, 4.5],
                                                  "runs": [{"cpu": {"class": "the training CPU"}}]}))
    threads = torch.get_num_threads()
    assert tool.main(["trained", "--run", str(run), "--out", str(tmp_path / "out"), "--threads", str(threads + 1),
                      "--train-command", "cvbook train --model tiniest --epochs 2"]) == 0
    assert torch.get_num_threads() == threads, "the tool runs on its own thread count and gives the caller's back"
    stored = tmp_path / "out" / "trained" / "tiniest"
    record = json.loads((stored / "run.json").read_text())
    assert record["train_time_s"] == 7.5 and record["train_command"].endswith("--epochs 2")
    assert record["cpu"] == {"class": "the training CPU"}, "the CPU that trained it, not the one that stored it"
    assert record["architecture"] == {"num_classes": 10, "in_chans": 1, "img_size": 28}
    assert record["store_command"].startswith("python tools/experiments.py trained --run ")
    logits = torch.load(stored / "test_logits.pt")
    assert logits.shape == (600, 10)
    from_logits = score_logits(logits, test.labels, test.classes)
    direct = score_model(model, test, meta)
    assert from_logits["accuracy"] == pytest.approx(direct["accuracy"]) == pytest.approx(record["test_accuracy"])
    assert from_logits["confusion"] == direct["confusion"]
    rebuilt = create_model(record["model"], **record["architecture"])
    assert sum(p.numel() for p in rebuilt.parameters()) == sum(p.numel() for p in model.parameters())
