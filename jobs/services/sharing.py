"""Read-only sharing of an experiment with named users."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from jobs.errors import InvalidInput
from jobs.models import Experiment


def _users(usernames: Iterable[str]) -> list[Any]:
    from django.contrib.auth import get_user_model

    wanted = sorted(set(usernames))
    found = list(get_user_model().objects.filter(username__in=wanted, is_active=True))
    refused = sorted(set(wanted) - {u.get_username() for u in found})
    if refused:
        # One answer for a name nobody has and for an account that cannot receive it
        # (switched off, awaiting approval), so the form cannot be used to probe names.
        raise InvalidInput({"usernames": [cannot_share_message(refused)]})
    return found


def cannot_share_message(usernames: list[str]) -> str:
    return f"cannot share with {', '.join(usernames)}: no active account of that name"


def share_experiment(experiment: Experiment, usernames: Iterable[str]) -> list[str]:
    """Let these users read the experiment; returns everyone it is now shared with."""
    users = [u for u in _users(usernames) if u.pk != experiment.owner_id]
    with transaction.atomic():
        experiment.shared_with.add(*users)
    return shared_usernames(experiment)


def unshare_experiment(experiment: Experiment, usernames: Iterable[str]) -> list[str]:
    """Stop sharing with these users; unknown names are ignored (already not shared)."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(username__in=set(usernames))
    with transaction.atomic():
        experiment.shared_with.remove(*users)
    return shared_usernames(experiment)


def shared_usernames(experiment: Experiment) -> list[str]:
    return sorted(u.get_username() for u in experiment.shared_with.all())
