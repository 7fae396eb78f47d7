"""Factories for test objects; jobs come from the real submit service."""

from __future__ import annotations

import hashlib
import io

import factory
from django.contrib.auth import get_user_model

from jobs import services
from jobs.models import Algorithm


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("s3cret-pass")


class AlgorithmFactory(factory.django.DjangoModelFactory):
    """A dependency-free algorithm with one int and one choice parameter."""

    class Meta:
        model = Algorithm
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"algo-{n}")
    title = "Test algorithm"
    entrypoint = ["python", "main.py"]
    dataset_input = "optional"
    parameters = [
        {"name": "n", "type": "int", "default": 1, "minimum": 0, "maximum": 100},
        {"name": "mode", "type": "choice", "values": ["a", "b"], "default": "a"},
    ]


def make_csv(rows: int = 5, seed: str = "") -> io.BytesIO:
    body = "x,y\n" + "".join(f"{i},{i * 2}{seed}\n" for i in range(rows))
    stream = io.BytesIO(body.encode())
    stream.name = f"data-{hashlib.md5(body.encode()).hexdigest()[:6]}.csv"
    return stream


def make_dataset(owner, rows: int = 5, seed: str = ""):
    dataset, _ = services.create_dataset(owner=owner, upload=make_csv(rows, seed))
    return dataset


def make_experiment(owner, algorithm=None, **kwargs):
    """Submit an experiment through the real service (so jobs are shaped as in production)."""
    algorithm = algorithm or AlgorithmFactory()
    return services.submit_experiment(owner=owner, algorithm=algorithm, **kwargs)


def finish_job(job, metrics: dict | None = None, files: dict[str, bytes] | None = None):
    """Run a job's attempt to success without a runner: its files, then its result."""
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from jobs.models import Job, JobStatus

    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=timezone.now())
    job.refresh_from_db()
    for name, content in (files or {}).items():
        services.store_output_file(job, name, ContentFile(content), len(content))
    return services.finish_attempt(job.pk, job.attempt, succeeded=True, metrics=metrics or {})
