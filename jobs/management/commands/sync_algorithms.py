from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from jobs.catalog import CatalogError, sync_algorithms


class Command(BaseCommand):
    help = "Load the algorithm catalog (algorithms/*/algorithm.yaml) into the database."

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, default=settings.PETRI_ALGORITHMS_DIR)

    def handle(self, *args, **options):
        try:
            synced = sync_algorithms(options["dir"])
        except CatalogError as exc:
            raise CommandError(str(exc)) from exc
        names = ", ".join(a.name for a in synced) or "none"
        self.stdout.write(f"synced {len(synced)} algorithms: {names}")
