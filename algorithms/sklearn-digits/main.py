"""Train a scikit-learn classifier on the bundled digits data, as a Petri algorithm.

Cross-validates on the training split (one ::metric step per fold), then fits
on the whole training split and writes metrics.json and confusion_matrix.csv
for the held-out test split to PETRI_OUTPUT_DIR.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import NoReturn

import numpy as np


def progress(fraction: float) -> None:
    print(f"::progress {fraction:.2f}", flush=True)


def log(message: str) -> None:
    print(message, flush=True)


def fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def make_model(params: dict):
    """An unfitted classifier for params["model"], from the parameters that apply to it."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC

    model = params["model"]
    seed = int(params["seed"])
    if model == "logreg":
        # Enough iterations to converge at large C, where lbfgs needs the most.
        return LogisticRegression(C=float(params["C"]), max_iter=5000)
    if model == "svm":
        return SVC(C=float(params["C"]), kernel="rbf", gamma="scale")
    if model == "random_forest":
        depth = int(params["max_depth"])
        return RandomForestClassifier(
            n_estimators=int(params["n_estimators"]),
            max_depth=depth or None,
            random_state=seed,
            # One core, as algorithm.yaml requests.
            n_jobs=1,
        )
    if model == "knn":
        return KNeighborsClassifier(n_neighbors=int(params["n_neighbors"]))
    fail(f"unknown model {model!r}")


def write_confusion_matrix(path: Path, matrix: np.ndarray, labels: list[int]) -> None:
    """Rows are true digits, columns predicted digits."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["true\\predicted", *labels])
        for label, row in zip(labels, matrix, strict=True):
            writer.writerow([label, *(int(v) for v in row)])


def main() -> None:
    params = json.loads(Path(os.environ["PETRI_PARAMS_FILE"]).read_text())
    output_dir = Path(os.environ["PETRI_OUTPUT_DIR"])
    output_dir.mkdir(parents=True, exist_ok=True)
    if os.environ.get("PETRI_DATASET_FILE"):
        log("note: this algorithm uses the bundled digits data and ignores the dataset")

    from sklearn.base import clone
    from sklearn.datasets import load_digits
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
    from sklearn.model_selection import StratifiedKFold, train_test_split

    seed = int(params["seed"])
    folds = int(params["cv_folds"])
    test_size = float(params["test_size"])
    progress(0.0)
    digits = load_digits()
    # Pixels are 0..16; a common scale helps logreg and svm converge, and does
    # not change what trees or nearest neighbours decide.
    features, labels = digits.data / 16.0, digits.target
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=test_size, random_state=seed, stratify=labels
    )
    model = make_model(params)
    log(
        f"digits: {len(x_train)} training and {len(x_test)} test images; "
        f"model {model!r}; {folds}-fold cross-validation"
    )

    cv_accuracy = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step, (fit_rows, score_rows) in enumerate(splitter.split(x_train, y_train), 1):
            fold_model = clone(model).fit(x_train[fit_rows], y_train[fit_rows])
            predicted = fold_model.predict(x_train[score_rows])
            accuracy = accuracy_score(y_train[score_rows], predicted)
            f1 = f1_score(y_train[score_rows], predicted, average="macro")
            cv_accuracy.append(accuracy)
            print(
                f"::metric cv_accuracy={accuracy:.6g} cv_f1_macro={f1:.6g} step={step}", flush=True
            )
            progress(0.05 + 0.75 * step / folds)

        started = time.perf_counter()
        model.fit(x_train, y_train)
        fit_seconds = time.perf_counter() - started
        predicted = model.predict(x_test)
    for message in sorted({str(w.message) for w in caught}):
        log(f"warning: {message}")

    classes = list(range(10))
    matrix = confusion_matrix(y_test, predicted, labels=classes)
    write_confusion_matrix(output_dir / "confusion_matrix.csv", matrix, classes)
    metrics = {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "f1_macro": float(f1_score(y_test, predicted, average="macro")),
        "fit_seconds": round(fit_seconds, 6),
        "cv_accuracy_mean": float(np.mean(cv_accuracy)),
        "cv_accuracy_std": float(np.std(cv_accuracy)),
        "train_rows": len(x_train),
        "test_rows": len(x_test),
    }
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    log(
        f"test accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['f1_macro']:.4f}, "
        f"fit {fit_seconds:.3f}s"
    )
    progress(1.0)


if __name__ == "__main__":
    main()
