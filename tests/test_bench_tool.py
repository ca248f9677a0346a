"""tools/bench.py: which stored headline runs still match the current recipes (a mismatch
makes `tools/bench.py headline` train the recipe again)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import bench  # noqa: E402 - tools/bench.py

ARGS = ["--model", "tiny_resnet", "--lr", "0.2", "--precision", "auto", "--epochs", "40"]
OLD = ["--model", "tiny_resnet", "--lr", "0.2", "--bf16", "--epochs", "40"]


def test_an_old_bf16_run_is_the_auto_recipe_only_where_bf16_is_native():
    assert bench.same_recipe({"args": ARGS, "cpu": {"class": "AVX2, no native bf16"}}, ARGS)
    assert bench.same_recipe({"args": OLD, "cpu": {"class": "AVX-512, native bf16"}}, ARGS)
    assert bench.same_recipe({"args": OLD, "cpu": {"class": "AVX-512, native bf16, VNNI, AMX", "bf16_native": True}}, ARGS)
    # on a CPU without native bf16, auto means float32: an old --bf16 run is another recipe
    assert not bench.same_recipe({"args": OLD, "cpu": {"class": "AVX2, no native bf16"}}, ARGS)
    assert not bench.same_recipe({"args": OLD, "cpu": {"class": "x", "bf16_native": False}}, ARGS)
    assert not bench.same_recipe({"args": ARGS[:-1] + ["41"], "cpu": {}}, ARGS)


def test_the_stored_headline_runs_match_the_recipes_of_their_cpu_class():
    """`tools/bench.py headline` re-uses every stored run instead of training it again."""
    import json

    from cvbook.train.headline import RECIPES, RECIPES_WITHOUT_BF16

    stored = Path(__file__).resolve().parents[1] / "book" / "results" / "headline"
    for name, (_, args) in {**RECIPES, **RECIPES_WITHOUT_BF16}.items():
        run = json.loads((stored / f"{name}_run.json").read_text())
        assert bench.same_recipe(run, args), f"{name}: the stored run is not the current recipe"
