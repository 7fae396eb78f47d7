from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "webapp.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save

        from jobs import signals
        from webapp.accounts import notifications, services

        post_save.connect(
            services.create_profile, sender=get_user_model(), dispatch_uid="accounts-profile"
        )
        signals.experiment_ended.connect(
            notifications.on_experiment_ended, dispatch_uid="accounts-notifications"
        )
