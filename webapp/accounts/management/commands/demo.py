from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from jobs import services
from jobs.models import Algorithm, Experiment
from jobs.services.datasets import create_dataset_from_files
from webapp.accounts.models import ApiToken
from webapp.accounts.tokens import issue_token

DEMO_DATASET = "linear-gaussian-6"


class Command(BaseCommand):
    # Lives with accounts: it makes an account and a token as well as the demo experiment.
    help = "Create the demo account, its dataset and a small demo experiment; print the token."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="petri-demo")

    def handle(self, *args, **options):
        username, password = options["username"], options["password"]
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_password(password)
            # The demo account is also the embedded operator, so /admin/ works out of the box.
            user.is_staff = user.is_superuser = True
            user.save()
        # A key is only known when issued: replace the demo token on every run.
        ApiToken.objects.filter(user=user, name="demo").delete()
        _, key = issue_token(user, "demo")

        folder = settings.PETRI_ALGORITHMS_DIR / "datasets" / DEMO_DATASET
        dataset, _ = create_dataset_from_files(
            owner=user,
            csv_path=folder / "data.csv",
            truth_path=folder / "graph.json",
            name=DEMO_DATASET,
        )
        if not Experiment.objects.filter(owner=user).exists():
            try:
                pc = Algorithm.objects.get(name="pc")
            except Algorithm.DoesNotExist:
                raise CommandError("run `manage.py sync_algorithms` first") from None
            experiment = services.submit_experiment(
                owner=user,
                algorithm=pc,
                dataset=dataset,
                name="demo: PC over alpha × stable",
                parameters={"alpha": [0.01, 0.05, 0.1], "stable": [True, False]},
            )
            self.stdout.write(
                f"demo experiment {experiment.pk} queued ({experiment.job_count} jobs)"
            )
        self.stdout.write(f"demo user:     {username}")
        if created:
            self.stdout.write(f"demo password: {password}")
        else:
            self.stdout.write("demo password: (unchanged since the account was created)")
        self.stdout.write(f"demo token:    {key}")
