"""The experiment page at scale: a page of rows read from the server, its view in the URL,
picking jobs to compare, and the pages checked with axe-core (also on a phone)."""

from __future__ import annotations

import re

import pytest
from django.db import transaction
from playwright.sync_api import Page, expect

from jobs.models import Job, JobStatus, Result
from jobs.tests.factories import UserFactory, make_experiment
from webapp.frontend.tests.test_web_app import sign_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires("chromium")]


@transaction.atomic  # else the served app's scheduler may claim a job before it is finished
def finished_sweep(owner, values: int = 101):
    """n = 0..values-1 by mode a, b; all finished (so the test server's scheduler stays idle):
    score = the job's index, except every tenth job failed with no score."""
    experiment = make_experiment(
        owner,
        parameters={"n": list(range(values)), "mode": ["a", "b"]},
        objective="score",
        objective_order="min",
    )
    rows = list(experiment.jobs.order_by("index"))
    failed = [job.pk for job in rows if job.index % 10 == 9]
    experiment.jobs.exclude(pk__in=failed).update(status=JobStatus.SUCCEEDED, progress=1.0)
    Job.objects.filter(pk__in=failed).update(status=JobStatus.FAILED)
    Result.objects.bulk_create(
        Result(
            job=job,
            experiment=experiment,
            parameters=job.parameters,
            index=job.index,
            attempt=1,
            status=JobStatus.SUCCEEDED,
            metrics={"score": float(job.index)},
        )
        for job in rows
        if job.pk not in failed
    )
    return experiment


# Elements reaching past the screen's right edge, other than inside a scrolling box.
WIDER_THAN_SCREEN = """
[...document.querySelectorAll('body *')]
  .filter((e) => e.getBoundingClientRect().right > innerWidth + 1)
  .filter((e) => !e.parentElement.closest('.table-scroll, .chart-scroll, .visually-hidden'))
  .map((e) => `${e.tagName}.${e.className}`)
"""


def serious(page: Page, axe_source: str) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    page.add_script_tag(content=axe_source)
    found = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])}× e.g. {v['nodes'][0]['target']})"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def test_the_job_table_reads_one_page_from_the_server_and_keeps_its_view_in_the_url(
    page, screenshots
):
    user = UserFactory(username="ada")
    experiment = finished_sweep(user)
    job_reads: list[str] = []
    page.on("request", lambda r: job_reads.append(r.url) if "/api/jobs/?" in r.url else None)
    sign_in(page, "ada")
    page.goto(f"/experiments/{experiment.pk}")

    rows = page.locator("#jobs tbody tr")
    expect(rows).to_have_count(100)
    expect(page.locator(".table-foot")).to_contain_text("page 1 of 3")
    assert job_reads and all("page_size=100" in url for url in job_reads), job_reads
    # The objective chosen at submit (score, lower is better) ranks the jobs: n=0 is best.
    expect(page.locator("[data-best-job] .best-value")).to_contain_text("score")
    first_id = experiment.jobs.get(index=0).pk
    expect(page.locator("[data-best-job]")).to_have_attribute("data-best-job", str(first_id))

    # Sorting is a button in the header, reachable by keyboard, announced by aria-sort.
    header = page.locator("#jobs thead th[data-sort='metrics__score']")
    header.locator("button").focus()
    page.keyboard.press("Enter")
    expect(header).to_have_attribute("aria-sort", "ascending")
    page.keyboard.press("Enter")
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(page).to_have_url(re.compile(r"sort=-metrics__score"))
    expect(rows.first.locator("td[data-metric=score]")).to_have_text("201")
    # Jobs without a score come last in both directions.
    page.get_by_role("button", name="Next →").click()
    page.get_by_role("button", name="Next →").click()
    expect(page).to_have_url(re.compile(r"page=3"))
    expect(rows.last).to_have_attribute("data-status", "failed")

    # A metric condition filters on the server; the view survives a reload.
    page.locator("select[name=filter-field]").select_option("metric:score")
    page.locator("select[name=filter-op]").select_option("lt")
    page.locator("input[name=filter-value]").fill("abc")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#filter-error")).to_contain_text('not "abc"')
    page.locator("input[name=filter-value]").fill("20")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"metric=score__lt%3A20"))
    expect(rows).to_have_count(18)  # 0..19 less the failed 9 and 19
    page.reload()
    expect(rows).to_have_count(18)
    expect(page.locator("[data-condition]")).to_have_count(1)
    expect(rows.first.locator("td[data-metric=score]")).to_have_text("18")
    assert not any("page_size=1000" in url for url in job_reads)

    # A range dragged on the chart's score axis becomes two conditions on the server's list.
    page.locator("[data-condition] button").click()
    expect(page.locator("[data-condition]")).to_have_count(0)
    area = page.locator("rect.pc-brush-area[data-axis=score]").bounding_box()
    assert area is not None
    centre = area["x"] + area["width"] / 2
    page.mouse.move(centre, area["y"] + area["height"] * 0.1)
    page.mouse.down()
    page.mouse.move(centre, area["y"] + area["height"] * 0.6, steps=5)
    page.mouse.up()
    expect(page.locator("[data-condition]")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"metric=score__gte%3A.*metric=score__lte%3A"))
    page.locator("[data-condition] button").first.click()
    page.locator("[data-condition] button").first.click()
    page.locator("select[name=filter-field]").select_option("metric:score")
    page.locator("select[name=filter-op]").select_option("lt")
    page.locator("input[name=filter-value]").fill("20")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(18)

    # Two jobs picked open side by side.
    rows.nth(0).locator("input[type=checkbox]").check()
    rows.nth(1).locator("input[type=checkbox]").check()
    page.get_by_role("link", name="Compare").click()
    expect(page).to_have_url(re.compile(r"/compare\?jobs=\d+,\d+$"))
    expect(page.locator("#compare thead th[data-job]")).to_have_count(2)
    expect(page.locator("#compare tr[data-param=n]")).to_have_class(re.compile("differs"))
    page.screenshot(path=str(screenshots / "compare.png"), full_page=True)


def test_pages_have_no_serious_accessibility_findings_on_a_phone(page, axe_source, screenshots):
    user = UserFactory(username="ada")
    experiment = finished_sweep(user, values=15)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "ada")

    page.goto(f"/experiments/{experiment.pk}")
    expect(page.locator("#jobs tbody tr")).to_have_count(30)
    # On a phone the navigation collapses behind a button.
    nav = page.locator("#site-nav")
    expect(nav).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(nav).to_be_visible()
    page.get_by_role("button", name="Menu").click()
    # Nothing is wider than the screen but the table and chart, which scroll on their own.
    wide = page.evaluate(WIDER_THAN_SCREEN)
    assert wide == [], wide
    assert serious(page, axe_source) == []
    page.screenshot(path=str(screenshots / "experiment-phone.png"), full_page=True)

    page.emulate_media(color_scheme="dark")
    assert serious(page, axe_source) == []
    page.screenshot(path=str(screenshots / "experiment-dark.png"), full_page=True)
    page.emulate_media(color_scheme="light")

    page.goto("/experiments/new")
    expect(page.locator("select[name=algorithm]")).to_be_visible()
    assert serious(page, axe_source) == []
