"""A search's experiment page: its strategy and stop reason, the Study card's four views, and
a pruned job shown as pruned."""

from __future__ import annotations

import pytest
from django.db import transaction
from playwright.sync_api import expect

from jobs import services
from jobs.models import Job, JobStatus
from jobs.tests.factories import AlgorithmFactory, UserFactory, make_experiment
from webapp.frontend.tests.test_web_app import sign_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires("chromium")]

SCHEMA = [
    {"name": "x", "type": "float", "default": 0.0, "minimum": -5, "maximum": 5},
    {"name": "y", "type": "float", "default": 0.0, "minimum": -5, "maximum": 5},
]


@transaction.atomic  # the served app's scheduler must never see its jobs waiting
def finished_search(owner, **options):
    """A random search of 8 points, all ended: one pruned, the others scored."""
    algorithm = AlgorithmFactory(name="space", parameters=SCHEMA)
    experiment = make_experiment(
        owner,
        algorithm,
        strategy="random",
        parameters={
            "x": {"distribution": "uniform", "low": -5, "high": 5},
            "y": {"distribution": "uniform", "low": -5, "high": 5},
        },
        max_jobs=8,
        parallelism=8,
        seed=2,
        **options,
    )
    jobs = list(Job.objects.filter(experiment=experiment).order_by("index"))
    for job in jobs[1:]:
        Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
        x, y = job.parameters["x"], job.parameters["y"]
        metrics = {"score": -(x**2) - 0.1 * y**2, "cost": abs(y)}
        services.finish_attempt(job.pk, 1, succeeded=True, metrics=metrics)
    Job.objects.filter(pk=jobs[0].pk).update(status=JobStatus.CANCELLING, failure_reason="pruned")
    services.mark_cancelled(jobs[0].pk, 1)
    services.top_up_searches()  # max_jobs is spent: it stops with its reason
    return experiment


def test_a_search_page_shows_its_study_its_stop_reason_and_its_pruned_job(page, screenshots):
    user = UserFactory(username="ada")
    experiment = finished_search(user, objective="score", objective_order="max")
    sign_in(page, "ada")
    page.goto(f"/experiments/{experiment.pk}")

    expect(page.locator("[data-strategy]")).to_contain_text("random, up to 8 jobs")
    expect(page.locator("[data-stop-reason='max_jobs']")).to_be_visible()
    expect(page.locator(".chip-pruned")).to_have_text("1 pruned")
    study = page.locator("section.study")
    expect(study).to_contain_text("7 of 8 trials scored")
    expect(study.locator("svg[aria-label='score against trial'] circle")).to_have_count(7)
    expect(study.locator(".best-line")).to_have_count(1)
    expect(study.locator(".importance tr")).to_have_count(2)
    expect(study.locator(".importance tr").first).to_have_attribute("data-param", "x")
    study.locator("select[name=slice-param]").select_option("y")
    expect(study.locator("svg[aria-label='score against y'] circle")).to_have_count(7)
    expect(page.locator("#jobs .status-pruned")).to_have_count(1)
    page.screenshot(path=str(screenshots / "study.png"), full_page=True)


def test_a_two_objective_search_shows_its_pareto_front(page, screenshots):
    user = UserFactory(username="ada")
    objectives = [{"name": "score", "order": "max"}, {"name": "cost", "order": "min"}]
    experiment = finished_search(user, objectives=objectives)
    sign_in(page, "ada")
    page.goto(f"/experiments/{experiment.pk}")
    pareto = page.locator("svg[aria-label='cost against score']")
    expect(pareto.locator("circle")).to_have_count(7)
    assert pareto.locator("circle.pareto").count() >= 1
    page.screenshot(path=str(screenshots / "study-pareto.png"), full_page=True)
