"""This installation's identity: one random id, drawn once and kept in the database."""

from __future__ import annotations

import secrets
import string

from django.db import models

_LETTERS = string.ascii_lowercase
_ALPHABET = string.ascii_lowercase + string.digits


def new_installation_id() -> str:
    """Six characters fit for a DNS label: a letter, then letters and digits."""
    return secrets.choice(_LETTERS) + "".join(secrets.choice(_ALPHABET) for _ in range(5))


class Installation(models.Model):
    """A single row. A fresh database draws a new id, so objects a backend kept from before a
    reset, or another installation's in a shared namespace, are never mistaken for its own."""

    installation_id = models.CharField(max_length=12, unique=True, default=new_installation_id)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.installation_id
