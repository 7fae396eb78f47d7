"""The schedules page in a real browser: schedule an experiment, pause, resume, delete."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from jobs.models import RecurringRun
from jobs.services import recurring
from jobs.tests.factories import UserFactory, make_experiment
from webapp.frontend.tests.test_account_pages import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_user_schedules_an_experiment_and_sees_its_firings(page, catalog):
    ada = UserFactory(username="ada")
    experiment = make_experiment(ada, catalog["sleep-and-score"], name="nightly sweep")
    sign_in(page, "ada")
    page.get_by_role("link", name="Schedules").click()
    expect(page.get_by_text("No schedules yet.")).to_be_visible()

    form = page.locator("#new-schedule")
    form.locator("select[name=experiment]").select_option(str(experiment.pk))
    form.get_by_label("cron expression").fill("not a cron")
    form.get_by_role("button", name="Schedule").click()
    expect(form).to_contain_text("five fields")
    assert not RecurringRun.objects.exists()

    form.get_by_label("cron expression").fill("30 2 * * *")
    form.get_by_role("button", name="Schedule").click()
    row = page.locator("#schedules tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("30 2 * * *")
    expect(row).to_contain_text("not yet")

    # A firing (as beat's task would make it) shows up with the run it made.
    run = RecurringRun.objects.get()
    made = recurring.fire_recurring_run(run.pk).experiment
    page.reload()
    expect(row.get_by_role("link", name=f"experiment #{made.pk}")).to_be_visible()

    row.get_by_role("button", name="Pause").click()
    expect(row).to_have_attribute("data-enabled", "false")
    expect(row).to_contain_text("paused")
    row.get_by_role("button", name="Resume").click()
    expect(row).to_have_attribute("data-enabled", "true")
    row.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("No schedules yet.")).to_be_visible()
    assert not RecurringRun.objects.exists()
