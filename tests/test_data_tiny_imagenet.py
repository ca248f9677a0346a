"""Tiny ImageNet-200 raw readers and the curation of seed 003, on a tiny tree written
in the exact raw layout (3 classes, 10 training and 2 validation images each)."""

from __future__ import annotations


import numpy as np
import pytest
from PIL import Image

from cvbook.data import load_splits
from cvbook.data import tiny_imagenet as ti

WNIDS = ["n02124075", "n01443537", "n04067472"]  # deliberately not sorted
NAMES = {"n01443537": "goldfish, Carassius auratus", "n02124075": "Egyptian cat",
         "n04067472": "reel"}


def _jpeg(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(path, "JPEG")


def make_raw(root, per_class=10, val_per_class=2):
    raw = root / "tiny-imagenet-200"
    raw.mkdir(parents=True)
    (raw / "wnids.txt").write_text("\n".join(WNIDS) + "\n")
    words = {"n00001740": "entity", **NAMES}
    (raw / "words.txt").write_text("".join(f"{w}\t{n}\n" for w, n in words.items()))
    for c, wnid in enumerate(WNIDS):
        boxes = []
        for i in range(per_class):
            name = f"{wnid}_{i}.JPEG"
            _jpeg(raw / "train" / wnid / "images" / name, 20 * c + i)
            boxes.append(f"{name}\t0\t1\t{i}\t63\n")
        (raw / "train" / wnid / f"{wnid}_boxes.txt").write_text("".join(boxes))
    rows = []
    for k in range(val_per_class * len(WNIDS)):
        name = f"val_{k}.JPEG"
        _jpeg(raw / "val" / "images" / name, 200 + k)
        rows.append(f"{name}\t{WNIDS[k % len(WNIDS)]}\t0\t32\t44\t62\n")
    (raw / "val" / "val_annotations.txt").write_text("".join(rows))
    return raw


def _curate(raw, out, seed=42):
    return ti.curate_tiny_imagenet(raw, out, seed=seed, train_per_class=8, val_per_class=2)


def _tree(out):
    return sorted(str(p.relative_to(out)) for p in out.rglob("*.JPEG"))


def test_readers(tmp_path):
    raw = make_raw(tmp_path)
    assert ti.read_wnids(raw) == WNIDS
    assert ti.read_words(raw, WNIDS) == {w: NAMES[w] for w in WNIDS}
    assert ti.read_words(raw)["n00001740"] == "entity"
    rows = ti.read_val_annotations(raw)
    assert len(rows) == 6 and rows[1].filename == "val_1.JPEG" and rows[1].wnid == WNIDS[1]
    assert rows[1].box == (0, 32, 44, 62) and rows[1].line == 2
    assert ti.read_train_boxes(raw, WNIDS[0])[f"{WNIDS[0]}_3.JPEG"] == (0, 1, 3, 63)
    assert len(ti.train_images(raw, WNIDS[2])) == 10
    assert ti.raw_dir(tmp_path) == raw and ti.raw_dir(raw) == raw


def test_curation_layout_and_imagefolder(tmp_path):
    raw = make_raw(tmp_path)
    out = _curate(tmp_path, tmp_path / "curated")  # the folder holding tiny-imagenet-200 also works
    assert ti.curated_counts(out) == {"train": 24, "val": 6, "test": 6}
    for wnid in WNIDS:
        train = {p.name for p in (out / "train" / wnid).iterdir()}
        val = {p.name for p in (out / "val" / wnid).iterdir()}
        assert len(train) == 8 and len(val) == 2 and not train & val  # balanced and disjoint
        assert train | val == {p.name for p in ti.train_images(raw, wnid)}
        # official validation images land in the test split under their annotated class
        expected = {f"val_{k}.JPEG" for k in range(6) if WNIDS[k % 3] == wnid}
        assert {p.name for p in (out / "test" / wnid).iterdir()} == expected
    names = ti.read_class_names(out)
    assert list(names) == sorted(WNIDS) and names["n01443537"] == NAMES["n01443537"]
    splits = load_splits("tiny-imagenet", out)  # what `cvbook train --dataset tiny-imagenet` reads
    for split, n in (("train", 24), ("val", 6), ("test", 6)):
        assert len(splits[split]) == n and splits[split].classes == tuple(names[w] for w in sorted(WNIDS))
        assert splits[split].images.shape[1:] == (3, 8, 8)
    assert (raw / "train" / WNIDS[0] / "images").is_dir()  # the raw tree is left intact
    assert not list(tmp_path.glob(".*partial*"))


def test_same_seed_same_split_other_seed_differs(tmp_path):
    raw = make_raw(tmp_path)
    a, b = _curate(raw, tmp_path / "a"), _curate(raw, tmp_path / "b")
    assert _tree(a) == _tree(b)
    other = [_tree(_curate(raw, tmp_path / f"s{s}", seed=s)) for s in (1, 2, 3)]
    assert any(t != _tree(a) for t in other)


def test_rerun_is_a_no_op_and_other_settings_are_refused(tmp_path):
    raw = make_raw(tmp_path)
    out = _curate(raw, tmp_path / "out")
    marker = out / "train" / WNIDS[0] / "extra.JPEG"
    marker.write_bytes(b"")  # a re-run must not rebuild (nor delete anything)
    assert _curate(raw, out) == out and marker.exists()
    with pytest.raises(ValueError, match="other settings.*seed=42"):
        _curate(raw, out, seed=7)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a curated Tiny ImageNet"):
        _curate(raw, tmp_path / "busy")
    (tmp_path / "empty").mkdir()
    assert ti.curated_counts(_curate(raw, tmp_path / "empty"))["train"] == 24


def test_interrupted_run_leaves_nothing_that_looks_done(tmp_path, monkeypatch):
    raw = make_raw(tmp_path)
    calls = []

    def failing_link(src, dst):
        calls.append(src)
        if len(calls) == 5:
            raise KeyboardInterrupt
        dst.write_bytes(src.read_bytes())

    monkeypatch.setattr(ti, "_link_or_copy", failing_link)
    with pytest.raises(KeyboardInterrupt):
        _curate(raw, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    monkeypatch.undo()
    out = _curate(raw, tmp_path / "out")  # the re-run clears the leftover and finishes
    assert ti.curated_counts(out)["train"] == 24 and not list(tmp_path.glob(".*partial*"))


def test_annotation_naming_a_missing_image(tmp_path):
    raw = make_raw(tmp_path)
    (raw / "val" / "images" / "val_4.JPEG").unlink()
    with pytest.raises(ValueError, match=r"val_annotations.txt line 5: image val_4.JPEG does not exist"):
        _curate(raw, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_annotation_with_unknown_class_or_bad_fields(tmp_path):
    raw = make_raw(tmp_path)
    ann = raw / "val" / "val_annotations.txt"
    ann.write_text(ann.read_text().replace(WNIDS[0], "n99999999", 1))
    with pytest.raises(ValueError, match="line 1: class id 'n99999999' is not in wnids.txt"):
        _curate(raw, tmp_path / "out")
    ann.write_text("val_0.JPEG\tn01443537\t0\t32\n")
    with pytest.raises(ValueError, match="line 1: expected 6 tab-separated fields"):
        ti.read_val_annotations(raw)


def test_wnid_missing_from_words(tmp_path):
    raw = make_raw(tmp_path)
    words = raw / "words.txt"
    words.write_text("".join(l for l in words.read_text().splitlines(True) if "reel" not in l))
    with pytest.raises(ValueError, match=r"words.txt: no name for class id\(s\) n04067472"):
        _curate(raw, tmp_path / "out")


def test_class_with_too_few_images(tmp_path):
    raw = make_raw(tmp_path)
    (raw / "train" / WNIDS[1] / "images" / f"{WNIDS[1]}_0.JPEG").unlink()
    with pytest.raises(ValueError, match=f"class {WNIDS[1]} has 9 training images; the split needs 10"):
        _curate(raw, tmp_path / "out")


def test_duplicate_wnid_and_not_a_raw_folder(tmp_path):
    raw = make_raw(tmp_path)
    (raw / "wnids.txt").write_text("n01443537\nn01443537\n")
    with pytest.raises(ValueError, match="listed twice"):
        ti.read_wnids(raw)
    with pytest.raises(FileNotFoundError, match="no wnids.txt"):
        _curate(tmp_path / "nowhere", tmp_path / "out")


def test_default_output_beside_raw_or_in_the_cache(tmp_path, monkeypatch):
    raw = make_raw(tmp_path / "data" / "tiny-imagenet")
    monkeypatch.setenv("CVBOOK_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert ti.raw_dir() == raw
    assert ti.default_curated_dir(raw) == raw.parent / "curated"
    with pytest.raises(FileNotFoundError, match="run `cvbook data curate-tiny-imagenet` first"):
        ti.curated_dir()
    # a read-only raw folder (as under /usr/share/datasets) sends the output to the user cache
    monkeypatch.setattr(ti, "_writable", lambda folder: False)
    cached = tmp_path / "cache" / "cvbook" / "tiny-imagenet" / "curated"
    assert ti.default_curated_dir(raw) == cached
    _curate(raw, ti.default_curated_dir(raw))
    assert ti.curated_dir() == cached and ti.curated_dir(raw=raw) == cached
    assert len(load_splits("tiny-imagenet", only=("val",))["val"]) == 6
