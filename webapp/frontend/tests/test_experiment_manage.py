"""Managing experiments in the browser: hide unscored jobs, retry failed jobs, rename, tag,
archive and delete; and the account page's token expiry."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jobs import services
from jobs.models import Experiment, FailureReason, Job, JobStatus, Quota
from jobs.tests.factories import UserFactory, make_experiment
from webapp.accounts.tokens import issue_token
from webapp.frontend.tests.test_experiment_table import finished_sweep
from webapp.frontend.tests.test_web_app import sign_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires("chromium")]


def test_hiding_unscored_jobs_filters_on_the_server_and_stays_in_the_url(page):
    user = UserFactory(username="ada")
    experiment = finished_sweep(user, values=10)  # 20 jobs; indexes 9 and 19 failed unscored
    reads: list[str] = []
    page.on("request", lambda r: reads.append(r.url) if "/api/jobs/?" in r.url else None)
    sign_in(page, "ada")
    page.goto(f"/experiments/{experiment.pk}")
    rows = page.locator("#jobs tbody tr")
    expect(rows).to_have_count(20)

    toggle = page.get_by_label("Hide unscored jobs")
    toggle.check()
    expect(page).to_have_url(re.compile(r"unscored=hide"))
    expect(rows).to_have_count(18)
    expect(page.locator("#jobs tbody tr[data-status=failed]")).to_have_count(0)
    assert any("has_metric=score" in url for url in reads), reads

    page.reload()
    expect(page.get_by_label("Hide unscored jobs")).to_be_checked()
    expect(rows).to_have_count(18)
    page.get_by_label("Hide unscored jobs").uncheck()
    expect(rows).to_have_count(20)
    assert "unscored" not in page.url


def test_retry_failed_puts_every_failed_job_back_in_the_queue(page, screenshots):
    user = UserFactory(username="ada")
    Quota.objects.create(user=user, max_running=0)  # retried jobs stay waiting, for the test
    experiment = make_experiment(user, parameters={"n": [1, 2, 3]}, max_attempts=1)
    failed = list(experiment.jobs.order_by("index")[:2])
    for job in failed:
        Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
        services.fail_attempt(job.pk, 1, FailureReason.ALGORITHM_ERROR, "boom")
    sign_in(page, "ada")
    page.goto(f"/experiments/{experiment.pk}")
    expect(page.locator("#jobs tbody tr[data-status=failed]")).to_have_count(2)

    button = page.get_by_role("button", name="Retry failed (2)")
    page.screenshot(path=str(screenshots / "retry-failed.png"))
    button.click()
    expect(button).to_have_count(0)
    expect(page.locator("#jobs tbody tr[data-status=failed]")).to_have_count(0)
    expect(page.locator("#jobs tbody tr[data-status=waiting]")).to_have_count(3)
    for job in Job.objects.filter(pk__in=[job.pk for job in failed]):
        assert (job.status, job.attempt) == (JobStatus.WAITING, 2)


def test_an_experiment_is_renamed_tagged_archived_and_deleted_from_its_page(page, screenshots):
    user = UserFactory(username="ada")
    experiment = finished_sweep(user, values=3)
    other = make_experiment(user, parameters={"n": [1]}, name="other")
    services.cancel_experiment(other)
    sign_in(page, "ada")
    page.goto(f"/experiments/{experiment.pk}")

    page.get_by_role("button", name="Manage").click()
    page.locator("#manage-name").fill("alpha sweep")
    page.locator("#manage-tags").fill("pc, lg6")
    page.locator("#manage-notes").fill("first try")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    expect(page.locator("h1")).to_have_text("alpha sweep")
    expect(page.locator(".page-head .tag")).to_have_text(["lg6", "pc"])
    expect(page.locator(".experiment-notes")).to_have_text("first try")
    page.screenshot(path=str(screenshots / "manage.png"), full_page=True)
    # A bad tag is refused, named next to its field.
    page.locator("#manage-tags").fill("pc, a\tb")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#manage .field-errors")).to_contain_text("tab")

    # A tag's chip lists the experiments so tagged.
    page.locator(".page-head .tag[data-tag=pc]").click()
    expect(page).to_have_url(re.compile(r"/experiments\?tag=pc$"))
    expect(page.locator("#experiments tbody tr")).to_have_count(1)
    expect(page.locator("#experiments")).to_contain_text("alpha sweep")
    page.get_by_role("button", name="Stop filtering by pc").click()
    expect(page.locator("#experiments tbody tr")).to_have_count(2)

    # Archived, it leaves the list and is found among the archived ones.
    page.goto(f"/experiments/{experiment.pk}")
    page.get_by_role("button", name="Manage").click()
    page.get_by_role("button", name="Archive").click()
    expect(page.locator(".badge.archived")).to_be_visible()
    page.goto("/experiments")
    expect(page.locator("#experiments tbody tr")).to_have_count(1)
    expect(page.locator("#experiments")).not_to_contain_text("alpha sweep")
    page.get_by_label("Archived experiments instead").check()
    expect(page).to_have_url(re.compile(r"archived=true"))
    expect(page.locator("#experiments tbody tr")).to_have_count(1)
    expect(page.locator("#experiments")).to_contain_text("alpha sweep")

    # Deleting asks first; "Keep it" keeps it, "Yes, delete" deletes it and its jobs.
    page.get_by_role("link", name="alpha sweep").click()
    page.get_by_role("button", name="Manage").click()
    page.get_by_role("button", name="Delete experiment").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("6 jobs, results and files")
    page.get_by_role("button", name="Keep it").click()
    assert Experiment.objects.filter(pk=experiment.pk).exists()
    page.get_by_role("button", name="Delete experiment").click()
    page.get_by_role("button", name="Yes, delete").click()
    expect(page).to_have_url(re.compile(r"/experiments$"))
    expect(page.locator("#experiments tbody tr")).to_have_count(1)
    assert not Experiment.objects.filter(pk=experiment.pk).exists()
    assert not Job.objects.filter(experiment_id=experiment.pk).exists()


def test_an_experiment_with_unfinished_jobs_cannot_be_deleted_from_its_page(page):
    user = UserFactory(username="ada")
    Quota.objects.create(user=user, max_running=0)
    experiment = make_experiment(user, parameters={"n": [1, 2]})
    sign_in(page, "ada")
    page.goto(f"/experiments/{experiment.pk}")
    page.get_by_role("button", name="Manage").click()
    expect(page.get_by_role("button", name="Delete experiment")).to_be_disabled()
    expect(page.locator("#manage")).to_contain_text("cancel it first")


def test_the_account_page_shows_when_each_token_expires_and_which_have(page):
    user = UserFactory(username="ada")
    issue_token(user, "laptop", timezone.now() + timedelta(days=30))
    issue_token(user, "old ci", timezone.now() - timedelta(days=2))
    issue_token(user, "server")
    sign_in(page, "ada")
    page.goto("/account")
    rows = page.locator("#tokens tbody tr")
    expect(rows).to_have_count(3)
    cell = {
        name: rows.filter(has_text=name).locator("td.expires")
        for name in ("laptop", "old ci", "server")
    }
    expect(cell["server"]).to_have_text("never")
    expect(cell["old ci"]).to_contain_text("expired")
    expect(cell["old ci"].locator("[data-expired=true]")).to_have_count(1)
    expect(cell["laptop"]).not_to_contain_text("expired")
    expect(cell["laptop"]).not_to_have_text("never")


def test_the_grid_is_extended_from_the_page_with_only_new_points_queued(page):
    user = UserFactory(username="ada")
    Quota.objects.create(user=user, max_running=0)  # the new jobs stay waiting
    experiment = finished_sweep(user, values=3)  # n in 0..2 × mode in a, b: 6 finished jobs
    sign_in(page, "ada")
    page.goto(f"/experiments/{experiment.pk}")
    expect(page.locator("#jobs tbody tr")).to_have_count(6)
    page.get_by_role("button", name="Manage").click()
    extend = page.locator("#extend")
    extend.locator("select[name=extend-parameter]").select_option("n")
    extend.locator("#extend-values").fill("2, 3")
    extend.get_by_role("button", name="Add jobs").click()
    # n = 2 ran already; n = 3 is new, with both modes.
    expect(extend.get_by_role("status")).to_have_text("2 jobs added.")
    expect(page.locator("#jobs tbody tr")).to_have_count(8)
    expect(page.locator("#jobs tbody tr[data-status=waiting]")).to_have_count(2)
    assert Job.objects.filter(experiment=experiment).count() == 8

    # Nothing new is refused, and the reason is shown.
    extend.locator("#extend-values").fill("3")
    extend.get_by_role("button", name="Add jobs").click()
    expect(extend.locator(".field-errors")).to_contain_text("adds no job")
    assert Job.objects.filter(experiment=experiment).count() == 8
