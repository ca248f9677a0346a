"""The self-check quizzes, without building the book: every chapter in the table of contents
closes with one (at least 8 questions, all three levels, multiple choice and numeric), every
option and numeric answer is explained, the numeric answers agree with the arithmetic done
here by hand, and what the cell displays reaches no network. test_book then answers every
quiz of the built book in Chromium, offline."""

from __future__ import annotations

import json
import math
import re

import pytest
import yaml

from cvbook import quiz
from cvbook.quiz import LEVELS, choice, numeric

CHAPTER = re.compile(r"book/(\d\d\w*)$")  # the numbered chapters; not the intro, glossary or instructors' page


def chapters(repo):
    toc = yaml.safe_load((repo / "_toc.yml").read_text())
    files = [ch["file"] for part in toc["parts"] for ch in part["chapters"]]
    return [m.group(1) for f in files if (m := CHAPTER.match(f))]


def quiz_path(repo, chapter):
    return repo / "book" / "quizzes" / f"{chapter}.py"


def test_every_chapter_has_a_quiz_of_at_least_8_questions_at_three_levels(repo):
    names = chapters(repo)
    assert len(names) >= 9, names
    counts = []
    for name in names:
        questions = quiz.load_questions(quiz_path(repo, name))
        levels = {lv: sum(q.level == lv for q in questions) for lv in LEVELS}
        kinds = {q.kind for q in questions}
        counts.append(f"{name:28s} {len(questions):2d} questions: " +
                      ", ".join(f"{lv} {n}" for lv, n in levels.items()) +
                      f"; numeric {sum(q.kind == 'numeric' for q in questions)}")
        assert len(questions) >= 8, f"{name}: {len(questions)} questions"
        assert all(levels.values()), f"{name}: a level has no question: {levels}"
        assert kinds == {"choice", "numeric"}, f"{name}: needs multiple-choice and numeric questions, has {kinds}"
    print("\n".join(["Self-check quizzes:"] + counts))


def test_every_chapter_closes_with_its_quiz_before_the_references(repo):
    for name in chapters(repo):
        text = (repo / "book" / f"{name}.md").read_text()
        assert text.count("\n## Self-check\n") == 1, f"{name}: no (or more than one) Self-check section"
        section = text.split("\n## Self-check\n", 1)[1]
        assert f'show_quiz("quizzes/{name}.py")' in section, f"{name}: the Self-check does not show its quiz"
        assert not re.search(r"^## (?!References)", section, re.M), \
            f"{name}: only the References may follow the Self-check"


def test_every_option_and_answer_is_explained_in_what_the_quiz_shows(repo):
    for name in chapters(repo):
        for item in quiz.to_jupyterquiz(quiz.load_questions(quiz_path(repo, name))):
            where = f"{name} {item['cvbook_key']}"
            assert "Hint" in item["question"] and "Common mistakes" in item["question"], where
            if item["type"] == "multiple_choice":
                assert sum(a["correct"] for a in item["answers"]) == 1, where
                for a in item["answers"]:
                    prefix = "Right. " if a["correct"] else "Not quite. "
                    assert a["feedback"].startswith(prefix) and len(a["feedback"]) > len(prefix) + 10, where
            else:
                right = [a for a in item["answers"] if a.get("correct")]
                assert len(right) == 1 and len(right[0]["feedback"]) > 20, where
                assert item["answers"][-1]["type"] == "default", where


# The numeric answers, by hand: if a library function or a quiz drifts, these disagree.
BY_HAND = {
    ("01_tensors", "batch-bytes"): 32 * 3 * 224 * 224 * 4,
    ("01_tensors", "offset"): 1 * 60 + 2 * 20 + 3 * 5 + 4 * 1,
    ("01_tensors", "train-set-mb"): 188.16,
    ("02_data_loading", "n-batches"): math.ceil(60_000 / 256),
    ("02_data_loading", "last-batch"): 60_000 % 256,
    ("03_fundamentals", "conv-params"): 3 * 3 * 16 * 32 + 32,
    ("03_fundamentals", "output-size"): (64 + 2 * 1 - 3) // 2 + 1,
    ("03_fundamentals", "receptive-field"): 1 + 2 * 1 + 2 * 2 + 2 * 4,
    ("04_architectures", "tiniest-params"): 97_530,
    ("04_architectures", "alexnet-stem"): (64 + 2 * 2 - 11) // 4 + 1,
    ("04_architectures", "vgg-stack"): 2 * 3 * 3 * 64 * 64,
    ("04_architectures", "effnet-last-map"): 1,
    ("05_architectures_measured", "conv-params"): 3 * 3 * 64 * 128 + 128,
    ("05_architectures_measured", "conv-macs"): 3 * 3 * 64 * 128 * 56 * 56,
    ("05_architectures_measured", "bn-momentum"): 0.5,
    ("06_transfer_learning", "linear-head"): 512 * 37 + 37,
    ("06_transfer_learning", "mlp-head"): 512 * 256 + 256 + 256 * 10 + 10,
    ("06_transfer_learning", "discriminative-lr"): 1e-3 * 0.6 ** 3,
    ("07_training_tricks", "label-smoothing"): 0.91,
    ("07_training_tricks", "cosine-mid"): 0.05,
    ("07_training_tricks", "ddp-batch"): 128,
    ("08_evaluation", "precision"): 0.667,
    ("08_evaluation", "recall"): 0.6,
    ("09_results", "mib"): 3.81,
    ("09_results", "time-to-accuracy"): 4,
    ("10_compression", "prune-nonzero"): 4_000,
    ("10_compression", "prune-stored"): 5_000,
    ("10_compression", "int8-bytes"): 5_000,
}


def test_numeric_answers_agree_with_the_arithmetic_by_hand(repo):
    seen = set()
    for name in chapters(repo):
        for q in quiz.load_questions(quiz_path(repo, name)):
            if q.kind != "numeric":
                continue
            assert (name, q.key) in BY_HAND, f"{name} {q.key}: add its hand computation to BY_HAND"
            expected = BY_HAND[(name, q.key)]
            assert abs(q.answer - expected) <= max(q.tolerance, 1e-9 * abs(expected)), \
                f"{name} {q.key}: the quiz says {q.answer}, by hand {expected}"
            seen.add((name, q.key))
    assert seen == set(BY_HAND), f"hand computations for questions that no longer exist: {set(BY_HAND) - seen}"


def test_what_the_cell_displays_reaches_no_network(repo):
    pytest.importorskip("jupyterquiz")
    for name in chapters(repo):
        outputs = quiz.quiz_outputs(quiz_path(repo, name))
        assert [type(o).__name__ for o in outputs] == ["HTML", "Javascript"], name
        text = "".join(o.data for o in outputs)
        assert "://" not in text, f"{name}: the quiz output names a URL: " + \
            ", ".join(sorted(set(re.findall(r"\w+://[^\s'\"]+", text))))
        js = outputs[1].data
        data = json.loads(js[js.index("=") + 1:js.index(";\n")])
        assert len(data) == len(quiz.load_questions(quiz_path(repo, name))), name


def test_incomplete_questions_are_refused_with_their_key():
    ok = dict(hint="h", mistakes=["m"])
    with pytest.raises(ValueError, match="'q1'.*explanation"):
        quiz.check([choice("q1", "easy", "?", [("a", True, "why"), ("b", False, " ")], **ok)])
    with pytest.raises(ValueError, match="'q2'.*exactly one"):
        quiz.check([choice("q2", "easy", "?", [("a", True, "w"), ("b", True, "w")], **ok)])
    with pytest.raises(ValueError, match="'q3'.*level"):
        quiz.check([choice("q3", "tricky", "?", [("a", True, "w"), ("b", False, "w")], **ok)])
    with pytest.raises(ValueError, match="'q4'.*accepted"):
        quiz.check([numeric("q4", "hard", "?", 10, "w", wrong={10.5: "x"}, tolerance=1, **ok)])
    with pytest.raises(ValueError, match="'q5'.*hint"):
        quiz.check([numeric("q5", "hard", "?", 10, "w", hint="", mistakes=["m"])])
    with pytest.raises(ValueError, match=r"'q6'.*\$"):
        quiz.check([numeric("q6", "hard", "costs $5?", 10, "w", **ok)])
