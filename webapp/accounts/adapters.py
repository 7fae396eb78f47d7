"""allauth hooks: closed sign-up holds new accounts for approval; unconfigured providers 404."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.http import Http404

from webapp.accounts import services


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: Any, user: Any, form: Any, commit: bool = True) -> Any:
        user = super().save_user(request, user, form, commit=commit)
        if commit and services.signup_needs_approval():
            services.hold_for_approval(user)
        return user


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def save_user(self, request: Any, sociallogin: Any, form: Any = None) -> Any:
        if services.signup_needs_approval():
            # Inactive from its first save, so no request ever sees it signed in.
            sociallogin.user.is_active = False
        user = super().save_user(request, sociallogin, form)
        if services.signup_needs_approval():
            services.hold_for_approval(user)
        return user

    def get_provider(self, request: Any, provider: Any, client_id: Any = None) -> Any:
        # A provider without PETRI_<NAME>_CLIENT_ID/SECRET is switched off, not an error.
        try:
            return super().get_provider(request, provider, client_id)
        except SocialApp.DoesNotExist:
            raise Http404(f"sign-in with {provider} is not configured") from None


def enabled_providers() -> list[dict[str, str]]:
    """Providers with an app configured, as the sign-in page lists them."""
    from django.conf import settings
    from django.urls import reverse

    names = {"github": "GitHub", "google": "Google"}
    return [
        {"id": key, "name": names.get(key, key), "login_url": reverse(f"{key}_login")}
        for key, conf in settings.SOCIALACCOUNT_PROVIDERS.items()
        if conf.get("APPS")
    ]
