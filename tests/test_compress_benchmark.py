"""tools/compression_benchmark.py, the runner of the book's compression table: a smoke test on a
small untrained model and a few images (unstructured pruning only: ONNX export and the int8 PT2E
compile take minutes on a busy 2-core machine; those are tested in the cvbook.compress tests),
and the latency helpers of cvbook.evaluate it measures with."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from cvbook.evaluate import efficiency

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import compression_benchmark as benchmark  # noqa: E402


def test_accuracy_pads_the_last_batch_and_counts_only_real_images():
    calls = []

    def model(x):
        calls.append(len(x))
        return torch.nn.functional.one_hot(torch.zeros(len(x), dtype=torch.long), 3).float()

    labels = torch.tensor([0, 1, 0, 0, 2])
    assert benchmark.accuracy(model, torch.zeros(5, 1, 2, 2), labels, batch_size=2) == pytest.approx(3 / 5)
    assert calls == [2, 2, 2]  # every call at the compiled batch size


def test_back_to_back_measures_both_models():
    slow = nn.Sequential(*[nn.Linear(64, 64) for _ in range(20)])
    fast = nn.Linear(64, 64)
    base_ms, cand_ms = efficiency.back_to_back_ms(slow, fast, torch.randn(8, 64), rounds=2, reps=3)
    assert base_ms > 0 and cand_ms > 0


class FakeClock:
    """time.perf_counter for a measured call that takes the next of `durations` (seconds)."""

    def __init__(self, durations):
        self.now, self.durations, self.started = 0.0, list(durations), False

    def __call__(self):
        if self.started:  # the end of a call: advance by its duration
            self.now += self.durations.pop(0)
        self.started = not self.started
        return self.now


def test_back_to_back_returns_one_median_per_model_not_the_samples(monkeypatch):
    # rounds alternate base, candidate: base takes 1, 9, 2 ms and 3, 4, 5 ms; candidate 10x
    base_ms, cand_ms = [1, 9, 2, 3, 4, 5], [10, 90, 20, 30, 40, 50]
    durations = [d / 1000 for d in base_ms[:3] + cand_ms[:3] + base_ms[3:] + cand_ms[3:]]
    monkeypatch.setattr(efficiency.time, "perf_counter", FakeClock(durations))
    base, cand = efficiency.back_to_back_ms(lambda x: x, lambda x: x, torch.zeros(1), rounds=2, reps=3, warmup=0)
    assert isinstance(base, float) and isinstance(cand, float)
    assert base == pytest.approx(3.5) and cand == pytest.approx(35.0)  # medians of all 6 runs each


def test_latency_samples_time_every_call(monkeypatch):
    monkeypatch.setattr(efficiency.time, "perf_counter", FakeClock([0.002, 0.001, 0.004]))
    assert efficiency.latency_samples_ms(lambda x: x, torch.zeros(1), 3) == pytest.approx([2.0, 1.0, 4.0])


def test_run_writes_a_consistent_table_and_leaves_global_state_as_it_was(tmp_path):
    import torch._inductor.config as inductor

    threads, freezing = torch.get_num_threads(), inductor.freezing
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    # The run measures on one thread (the caller's two would fight the other test worker
    # for the cores) and must give the caller's two back.
    torch.set_num_threads(2)
    try:
        result = benchmark.run(["tiniest"], train_images=512, eval_images=64, epochs=0, threads=1, rounds=1,
                               reps=1, variants=("pruned",), out_dir=tmp_path, log=lambda *_: None)
        assert torch.get_num_threads() == 2
        with benchmark.global_state_kept():  # what the compiled rows change, undone on the way out
            torch.set_num_threads(1)
            inductor.freezing = not freezing
            torch.manual_seed(0)
        assert torch.get_num_threads() == 2
        assert inductor.freezing == freezing
        assert torch.equal(torch.rand(3), expected)  # the caller's random stream goes on undisturbed
    finally:
        torch.set_num_threads(threads)
    rows = {r["variant"]: r for r in result["rows"]}
    dense = rows["float32"]
    pruned = rows["pruned 70% (global, permanent)"]
    # pruning with dense storage: the same bytes; what shrinks is the compressed sparse file
    assert abs(pruned["size_bytes"] - dense["size_bytes"]) < 0.01 * dense["size_bytes"]
    assert pruned["size_sparse_gzip_bytes"] < 0.6 * dense["size_bytes"]
    assert pruned["nonzero_params"] < 0.4 * pruned["params"]
    assert list(rows) == ["float32", "pruned 30% (global, permanent)", "pruned 50% (global, permanent)",
                          "pruned 70% (global, permanent)"]
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in result["rows"])
    stored = json.loads((tmp_path / "compression.json").read_text())
    assert [r["variant"] for r in stored["rows"]] == [r["variant"] for r in result["rows"]]
    with open(tmp_path / "compression.csv") as f:
        assert len(list(csv.DictReader(f))) == len(result["rows"])
    assert "load average" in (tmp_path / "compression.md").read_text().lower()
    assert_speedups_read_from_the_ms_columns(result["rows"])


def assert_speedups_read_from_the_ms_columns(rows):
    """Every "x float" is the float32 row's ms over the row's ms, at the same batch size."""
    base = {r["model"]: r for r in rows if r["variant"] == "float32"}
    for r in rows:
        for batch in ("b1", "b64"):
            if r[f"latency_{batch}_ms"] is None:
                continue
            expected = base[r["model"]][f"latency_{batch}_ms"] / r[f"latency_{batch}_ms"]
            assert r[f"speedup_{batch}"] == pytest.approx(expected, abs=2e-3), (r["model"], r["variant"], batch)


def test_speedups_compare_with_the_float32_row_not_the_alternating_rounds():
    rows = [{"model": "m", "variant": "float32", "latency_b1_ms": 2.0, "latency_b64_ms": 10.0,
             "float_b1_ms": 2.0, "float_b64_ms": 10.2},
            {"model": "m", "variant": "int8", "latency_b1_ms": 1.0, "latency_b64_ms": 20.0,
             "float_b1_ms": 4.0, "float_b64_ms": 30.0},   # the float model slowed beside it
            {"model": "m", "variant": "failed", "latency_b1_ms": None, "latency_b64_ms": None}]
    benchmark.set_speedups(rows)
    assert rows[0]["speedup_b1"] == 1.0 and rows[0]["speedup_b64"] == 1.0
    assert rows[1]["speedup_b1"] == 2.0 and rows[1]["speedup_b64"] == 0.5  # slower, and says so
    assert rows[2]["speedup_b1"] is None
    assert_speedups_read_from_the_ms_columns(rows)


def test_the_stored_compression_table_is_consistent_row_by_row():
    stored = json.loads((REPO / "book" / "results" / "compression" / "compression.json").read_text())
    assert_speedups_read_from_the_ms_columns(stored["rows"])


def test_unknown_variant_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown variants"):
        benchmark.run(["tiniest"], train_images=64, eval_images=64, variants=("magic",), out_dir=tmp_path)


def test_merge_replaces_the_rerun_model_and_keeps_the_others():
    old = {"rows": [{"model": "a", "variant": "float32"}, {"model": "b", "variant": "float32"}],
           "conditions": "first run"}
    new = {"rows": [{"model": "b", "variant": "int8"}], "conditions": "second run", "models": ["b"]}
    merged = benchmark.merge_results(old, new)
    assert [(r["model"], r["variant"]) for r in merged["rows"]] == [("a", "float32"), ("b", "int8")]
    assert "first run" in merged["conditions"] and "second run" in merged["conditions"]
    assert all("rows" not in run for run in merged["runs"])


def test_run_starts_from_a_trained_checkpoint(tmp_path):
    from cvbook.models import create_model
    from cvbook.files import atomic_save

    torch.manual_seed(1)
    model = create_model("tiny_resnet", num_classes=10, in_chans=1, img_size=28)
    meta = {"model": "tiny_resnet", "num_classes": 10, "in_chans": 1, "img_size": 28, "mean": [0.5], "std": [0.25]}
    atomic_save({"model": model.state_dict(), "meta": meta}, tmp_path / "best_model.pth")
    result = benchmark.run(["tiny_resnet"], train_images=256, eval_images=64, threads=1, rounds=1, reps=1,
                           variants=("pruned",), checkpoints={"tiny_resnet": tmp_path / "best_model.pth"},
                           out_dir=tmp_path / "out", log=lambda *_: None)
    dense = next(r for r in result["rows"] if r["variant"] == "float32")
    # the stored weights and normalisation were used, not a fresh model trained here
    from cvbook.data.normalize import to_input

    _, test_set, _ = benchmark.load_data(256, 64)
    inputs = to_input(test_set.images, meta, "cpu")
    assert dense["accuracy"] == round(benchmark.accuracy(model.eval(), inputs, test_set.labels), 4)
    assert "trained checkpoint" in result["conditions"]
    with pytest.raises(ValueError, match="holds a tiny_resnet, not a tiniest"):
        benchmark.run(["tiniest"], train_images=64, eval_images=64, variants=("pruned",),
                      checkpoints={"tiniest": tmp_path / "best_model.pth"}, out_dir=None)
    with pytest.raises(ValueError, match="not among the models"):
        benchmark.run(["tiniest"], train_images=64, eval_images=64,
                      checkpoints={"resnet18": tmp_path / "best_model.pth"}, out_dir=None)
