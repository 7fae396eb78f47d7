"""Errors raised by services; the API turns them into 4xx answers."""

from __future__ import annotations

from typing import Any


class InvalidInput(Exception):
    """Input that fails validation; ``errors`` maps each field (nested) to its messages."""

    def __init__(self, errors: dict[str, Any]):
        super().__init__(errors)
        self.errors = errors


class Conflict(Exception):
    """The request is valid but the object's state does not allow it (HTTP 409)."""
