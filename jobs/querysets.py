"""The one rule for who sees what, and who may change it.

Owners see and change their own objects; staff see and change all. Experiments shared with a
user are visible to them, with their jobs, read-only. Everything else (datasets, artifacts)
stays with its owner.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Exists, OuterRef, Q


def _shared_with(model: type[models.Model], user: Any) -> Q | None:
    """The sharing condition for this model, or None when it is never shared.

    EXISTS rather than a join, so an experiment shared with many users is never repeated
    and the job counts annotated on it stay right.
    """
    from jobs.models import Experiment

    through = Experiment.shared_with.through
    if model is Experiment:
        return Q(Exists(through.objects.filter(experiment_id=OuterRef("pk"), user=user)))
    if any(f.name == "experiment" and f.related_model is Experiment for f in model._meta.fields):
        return Q(Exists(through.objects.filter(experiment_id=OuterRef("experiment_id"), user=user)))
    return None


class OwnedQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> OwnedQuerySet:
        if not user or not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self.all()
        shared = _shared_with(self.model, user)
        return (
            self.filter(Q(owner=user) | shared) if shared is not None else self.filter(owner=user)
        )

    def changeable_by(self, user: Any) -> OwnedQuerySet:
        """What the user may cancel, retry, share or delete: their own, or anything for staff."""
        if not user or not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self.all()
        return self.filter(owner=user)
