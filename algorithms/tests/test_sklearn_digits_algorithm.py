"""The sklearn-digits example run end to end as a subprocess."""

from __future__ import annotations

import csv
import math

import pytest

NAME = "sklearn-digits"
DIGITS = 1797  # images in sklearn's bundled digits data


def confusion(run) -> list[list[int]]:
    with open(run.output_dir / "confusion_matrix.csv", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    assert header == ["true\\predicted", *map(str, range(10))]
    assert [row[0] for row in rows] == [str(d) for d in range(10)]
    return [[int(v) for v in row[1:]] for row in rows]


def macro_f1(matrix: list[list[int]]) -> float:
    """Mean over digits of 2 TP / (2 TP + FP + FN), from the confusion matrix."""
    scores = []
    for d in range(10):
        tp = matrix[d][d]
        fn = sum(matrix[d]) - tp
        fp = sum(row[d] for row in matrix) - tp
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return sum(scores) / 10


@pytest.mark.parametrize(
    ("model", "params"),
    [
        ("logreg", {"C": 1.0}),
        ("svm", {"C": 5.0}),
        ("random_forest", {"n_estimators": 30, "max_depth": 12}),
        ("knn", {"n_neighbors": 3}),
    ],
)
def test_every_model_learns_the_digits_and_reports_each_fold(run_algorithm, model, params):
    run = run_algorithm(NAME, {"model": model, "cv_folds": 3, **params})
    assert run.returncode == 0, run.stderr
    metrics = run.metrics
    assert metrics["accuracy"] > 0.9
    assert metrics["f1_macro"] > 0.9
    assert metrics["fit_seconds"] >= 0
    folds = run.metric_lines
    assert [line["step"] for line in folds] == [1, 2, 3]
    assert all(0.85 < line["cv_accuracy"] <= 1 for line in folds)
    assert metrics["cv_accuracy_mean"] == pytest.approx(
        sum(line["cv_accuracy"] for line in folds) / 3, abs=1e-5
    )
    assert run.progress == sorted(run.progress) and run.progress[-1] == 1.0


def test_metrics_agree_with_a_hand_computation_from_the_confusion_matrix(run_algorithm):
    run = run_algorithm(NAME, {"model": "knn", "n_neighbors": 15, "cv_folds": 2})
    assert run.returncode == 0, run.stderr
    matrix = confusion(run)
    total = sum(map(sum, matrix))
    assert total == run.metrics["test_rows"]
    assert run.metrics["train_rows"] + total == DIGITS
    assert run.metrics["accuracy"] == pytest.approx(sum(matrix[d][d] for d in range(10)) / total)
    assert run.metrics["f1_macro"] == pytest.approx(macro_f1(matrix))
    # A stratified split keeps every digit in the test set.
    assert all(sum(row) > 0 for row in matrix)


@pytest.mark.parametrize("test_size", [0.1, 0.5])
def test_test_size_sets_the_held_out_share(run_algorithm, test_size):
    run = run_algorithm(NAME, {"model": "knn", "test_size": test_size, "cv_folds": 2})
    assert run.returncode == 0, run.stderr
    # scikit-learn rounds the test share up.
    assert run.metrics["test_rows"] == math.ceil(test_size * DIGITS)


def test_the_same_seed_gives_the_same_scores(run_algorithm):
    params = {"model": "random_forest", "n_estimators": 10, "cv_folds": 2, "seed": 4}
    first, again = run_algorithm(NAME, params), run_algorithm(NAME, params)
    for key in ("accuracy", "f1_macro", "cv_accuracy_mean"):
        assert first.metrics[key] == again.metrics[key], key
    assert (first.output_dir / "confusion_matrix.csv").read_bytes() == (
        again.output_dir / "confusion_matrix.csv"
    ).read_bytes()


def test_a_stronger_regularization_fits_worse(run_algorithm):
    # C = 0.0001 shrinks logistic regression to almost a constant guess.
    tight = run_algorithm(NAME, {"model": "logreg", "C": 0.0001, "cv_folds": 2})
    assert tight.returncode == 0, tight.stderr
    assert tight.metrics["accuracy"] < 0.9
