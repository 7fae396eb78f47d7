"""The algorithm kit speaks the server's vocabulary, though it cannot import it."""

from __future__ import annotations

import petri_kit as kit

from jobs.models import FailureReason


def test_the_kit_names_the_failure_reason_the_runner_records_for_a_failed_algorithm():
    assert kit.FAILURE_REASON == FailureReason.ALGORITHM_ERROR.value
    assert kit.AlgorithmFailed.reason == FailureReason.ALGORITHM_ERROR.value
