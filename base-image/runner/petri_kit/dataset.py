"""Reading the dataset: a CSV file with a header row and one numeric column per variable."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from petri_kit.report import fail


def read_csv(path: str | Path) -> tuple[list[str], list[list[float]]]:
    """(column names, rows of numbers); fails the run naming the first problem found."""
    # utf-8-sig: spreadsheets often save a byte-order mark before the header.
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        lines = [line for line in reader if line]
    if not header:
        fail("the dataset is empty")
    if len(set(header)) != len(header):
        fail("the dataset has duplicate column names")
    rows = []
    for number, line in enumerate(lines, start=2):
        if len(line) != len(header):
            fail(f"row {number} has {len(line)} fields, the header has {len(header)}")
        try:
            rows.append([float(cell) for cell in line])
        except ValueError as error:
            fail(f"row {number} is not numeric ({error}); every column must be a number")
    if not all(math.isfinite(value) for row in rows for value in row):
        fail("the dataset has missing or infinite values")
    return header, rows
