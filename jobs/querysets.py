"""The one rule for who sees what: owners see their own objects, staff see all."""

from __future__ import annotations

from typing import Any

from django.db import models


class OwnedQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> OwnedQuerySet:
        if not user or not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self.all()
        return self.filter(owner=user)
