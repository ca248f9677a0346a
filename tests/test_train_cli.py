"""`cvbook train | test | infer | plot | compare` end to end on a few hundred real
Fashion-MNIST images with the Tiniest model (one short epoch, trained once)."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from cvbook.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def results(tmp_path_factory, fashion_mnist_available):
    out = tmp_path_factory.mktemp("cli") / "results"
    rc = main(["train", "--model", "tiniest", "--epochs", "1", "--limit-train", "512",
               "--batch-size", "128", "--lr", "0.02", "--optimizer", "adamw", "--ema",
               "--label-smoothing", "0.1", "--out-dir", str(out), "--no-progress"])
    assert rc == 0
    return out


def test_train_writes_the_results_layout(results):
    run = results / "tiniest"
    assert sorted(p.name for p in run.iterdir()) == [
        "best_model.pth", "checkpoint_epoch_1.pth", "history.json", "last.pth"]
    history = json.loads((run / "history.json").read_text())
    assert history["epoch"] == [1]
    assert {"train_loss", "train_acc", "val_loss", "val_acc", "lr"} <= history.keys()
    best = torch.load(run / "best_model.pth", weights_only=False)
    assert best["meta"]["model"] == "tiniest" and best["meta"]["in_chans"] == 1
    assert best["meta"]["img_size"] == 28 and len(best["meta"]["classes"]) == 10


def test_test_plot_compare_and_infer(results, tmp_path, capsys):
    assert main(["test", "--model", "tiniest", "--out-dir", str(results), "--limit", "200"]) == 0
    printed = capsys.readouterr().out
    assert "weighted avg" in printed and "Ankle boot" in printed
    res = json.loads((results / "tiniest" / "test_results.json").read_text())
    assert res["num_images"] == 200 and 0 <= res["top1"] <= res["top5"] <= 1
    assert sum(map(sum, res["confusion_matrix"])) == 200
    assert res["classification_report"]["accuracy"] == pytest.approx(res["top1"])
    assert (results / "tiniest" / "confusion_matrix.png").read_bytes()[:8] == PNG_MAGIC

    assert main(["plot", "--model", "tiniest", "--out-dir", str(results),
                 "--plots-dir", str(tmp_path / "plots")]) == 0
    for name in ("training_loss.png", "training_accuracy.png"):
        assert (tmp_path / "plots" / "tiniest" / name).read_bytes()[:8] == PNG_MAGIC

    assert main(["compare", "--out-dir", str(results)]) == 0
    assert "| tiniest |" in capsys.readouterr().out
    rows = list(csv.DictReader((results / "model_comparison.csv").open()))
    assert rows[0]["model"] == "tiniest" and float(rows[0]["top1"]) == pytest.approx(res["top1"])
    assert int(rows[0]["params"]) == res["params"]

    from PIL import Image

    from cvbook.data.fashion_mnist import load_fashion_mnist

    images, _ = load_fashion_mnist("test")
    Image.fromarray(images[0].numpy()).save(tmp_path / "item.png")
    assert main(["infer", "--model", "tiniest", "--out-dir", str(results),
                 "--image", str(tmp_path / "item.png"), "--top-k", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("1. ")
    percents = [float(line.rsplit(maxsplit=1)[-1].rstrip("%")) for line in lines]
    assert percents == sorted(percents, reverse=True)


def test_resume_continues_to_the_requested_epoch(results, tmp_path):
    import shutil

    run = tmp_path / "tiniest"
    shutil.copytree(results / "tiniest", run)
    assert main(["train", "--resume", str(run / "last.pth"), "--epochs", "2", "--no-progress"]) == 0
    history = json.loads((run / "history.json").read_text())
    assert history["epoch"] == [1, 2]
    assert (run / "checkpoint_epoch_2.pth").is_file()


def test_bad_input_gives_one_clear_line(tmp_path, capsys):
    assert main(["train", "--epochs", "1"]) == 2
    assert "--model is required" in capsys.readouterr().err
    assert main(["test", "--model", "nothere", "--out-dir", str(tmp_path)]) == 2
    assert "nothere/best_model.pth does not exist" in capsys.readouterr().err
    assert main(["train", "--model", "no-such-net", "--epochs", "1", "--limit-train", "256",
                 "--out-dir", str(tmp_path), "--no-progress"]) == 2
    assert "unknown model 'no-such-net'" in capsys.readouterr().err
    assert main(["compare", "--out-dir", str(tmp_path)]) == 2
