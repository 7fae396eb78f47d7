"""Train a scikit-learn classifier on the bundled digits data, as a Petri algorithm.

Cross-validates on the training split (one ::metric step per fold), then fits
on the whole training split and writes metrics.json and confusion_matrix.csv
for the held-out test split to PETRI_OUTPUT_DIR.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import petri_kit as kit


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
    kit.fail(f"unknown model {model!r}")


def write_confusion_matrix(path: Path, matrix: np.ndarray, labels: list[int]) -> None:
    """Rows are true digits, columns predicted digits."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["true\\predicted", *labels])
        for label, row in zip(labels, matrix, strict=True):
            writer.writerow([label, *(int(v) for v in row)])


def run(job: kit.Job) -> None:
    """Cross-validate, fit and test the model; write metrics.json and confusion_matrix.csv."""
    params = job.params
    if job.dataset_file is not None:
        kit.log("note: this algorithm uses the bundled digits data and ignores the dataset")

    from sklearn.base import clone
    from sklearn.datasets import load_digits
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
    from sklearn.model_selection import StratifiedKFold, train_test_split

    seed = int(params["seed"])
    folds = int(params["cv_folds"])
    test_size = float(params["test_size"])
    kit.progress(0.0)
    digits = load_digits()
    # Pixels are 0..16; a common scale helps logreg and svm converge, and does
    # not change what trees or nearest neighbours decide.
    features, labels = digits.data / 16.0, digits.target
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=test_size, random_state=seed, stratify=labels
    )
    model = make_model(params)
    kit.log(
        f"digits: {len(x_train)} training and {len(x_test)} test images; "
        f"model {model!r}; {folds}-fold cross-validation"
    )

    cv_accuracy = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with kit.library_output("scikit-learn"):
        for step, (fit_rows, score_rows) in enumerate(splitter.split(x_train, y_train), 1):
            fold_model = clone(model).fit(x_train[fit_rows], y_train[fit_rows])
            predicted = fold_model.predict(x_train[score_rows])
            accuracy = accuracy_score(y_train[score_rows], predicted)
            f1 = f1_score(y_train[score_rows], predicted, average="macro")
            cv_accuracy.append(accuracy)
            kit.metric(cv_accuracy=accuracy, cv_f1_macro=f1, step=step)
            kit.progress(0.05 + 0.75 * step / folds)

        started = time.perf_counter()
        model.fit(x_train, y_train)
        fit_seconds = time.perf_counter() - started
        predicted = model.predict(x_test)

    classes = list(range(10))
    matrix = confusion_matrix(y_test, predicted, labels=classes)
    write_confusion_matrix(job.output_dir / "confusion_matrix.csv", matrix, classes)
    metrics = {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "f1_macro": float(f1_score(y_test, predicted, average="macro")),
        "fit_seconds": round(fit_seconds, 6),
        "cv_accuracy_mean": float(np.mean(cv_accuracy)),
        "cv_accuracy_std": float(np.std(cv_accuracy)),
        "train_rows": len(x_train),
        "test_rows": len(x_test),
    }
    job.write_metrics(metrics)
    kit.log(
        f"test accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['f1_macro']:.4f}, "
        f"fit {fit_seconds:.3f}s"
    )
    kit.progress(1.0)


if __name__ == "__main__":
    run(kit.Job.from_env())
