"""Personal API tokens, stored hashed: the key is shown once, when it is created."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="first characters, to tell tokens apart")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="refused from then on; empty: until revoked"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Profile(models.Model):
    """Per-user preferences and whether an operator approved the account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    email_notifications = models.BooleanField(
        default=True, help_text="e-mail me when one of my experiments ends"
    )
    approved = models.BooleanField(
        default=True, help_text="with sign-up closed, new accounts wait for an operator"
    )

    def __str__(self) -> str:
        return f"profile of {self.user}"
