"""The web app in a real browser: sign in, sweep, watch it finish live, read a log, cancel."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect

from jobs.tests.factories import UserFactory, make_experiment

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "s3cret-pass"


def sign_in(page: Page, username: str) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/experiments$"))


@pytest.mark.real_password_hashing
def test_a_wrong_password_is_refused_on_the_sign_in_page(page, catalog):
    assert UserFactory(username="ada").password.startswith("pbkdf2_sha256$")
    page.goto("/experiments")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("not-her-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong username or password")


def test_a_2x2_sweep_made_in_the_form_reaches_succeeded_live_and_its_log_opens(
    page, catalog, screenshots
):
    UserFactory(username="ada")
    sign_in(page, "ada")
    expect(page.get_by_text("No experiments yet.")).to_be_visible()

    page.get_by_role("link", name="New experiment").first.click()
    page.locator("select[name=algorithm]").select_option("sleep-and-score")
    page.locator("input[name=name]").fill("2x2 sweep")
    page.locator("select[name='x:mode']").select_option("list")
    page.locator("input[name='x:list']").fill("0, 1")
    page.locator("select[name='y:mode']").select_option("list")
    page.locator("input[name='y:list']").fill("-2, 2")
    page.locator("input[name=steps]").fill("3")
    page.locator("input[name=duration]").fill("0.3")
    expect(page.locator(".card-head .grid-size")).to_have_text("4 jobs")
    page.get_by_role("button", name="Start experiment").click()

    expect(page).to_have_url(re.compile(r"/experiments/\d+$"))
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page
    expect(page.locator(".page-head .live.on")).to_be_visible()  # updates come over the websocket
    rows = page.locator("#jobs tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator('#jobs tbody tr[data-status="succeeded"]')).to_have_count(
        4, timeout=120_000
    )
    expect(page.locator(".page-head .status")).to_have_text("succeeded")
    expect(page.locator("#jobs thead th[data-sort='metrics__score']")).to_be_visible()
    # The best score is at x=1, y=-2: -(x-1)^2 - (y+2)^2 = 0.
    best = page.locator("[data-best-job]")
    expect(best.locator(".best-value")).to_contain_text("0")
    expect(page.locator("svg.parallel polyline")).to_have_count(4)
    page.screenshot(path=str(screenshots / "experiment.png"), full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    table = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert len(table) == 4
    assert {row["status"] for row in table} == {"succeeded"}
    # The API's export.csv, one format everywhere.
    assert {(float(row["params.x"]), float(row["params.y"])) for row in table} == {
        (0, -2),
        (0, 2),
        (1, -2),
        (1, 2),
    }

    best_id = best.get_attribute("data-best-job")
    page.locator(f'#jobs tbody tr[data-job="{best_id}"] a').first.click()
    expect(page).to_have_url(re.compile(rf"/jobs/{best_id}$"))
    log = page.locator("#log")
    expect(log).to_contain_text("sleep-and-score: x=1.0 y=-2.0")
    expect(log).to_contain_text(re.compile(r"score=-?0\.0 rows=0"))
    expect(page.locator("#final-metrics")).to_contain_text("score")
    expect(page.locator("figure.metric-chart[data-metric=loss] canvas")).to_be_visible()
    expect(page.locator("#files")).to_contain_text("output.txt")
    page.get_by_role("button", name="Pause").click()
    expect(log).to_have_attribute("data-paused", "true")
    page.get_by_role("button", name=re.compile("Resume")).click()
    expect(log).to_have_attribute("data-paused", "false")
    page.screenshot(path=str(screenshots / "job.png"), full_page=True)
    assert page.evaluate("window.__sameDocument") is True


def test_cancelling_a_running_experiment_stops_every_job(page, catalog, screenshots):
    ada = UserFactory(username="ada")
    experiment = make_experiment(
        ada,
        algorithm=catalog["sleep-and-score"],
        name="long sleep",
        parameters={"x": [0, 1], "duration": 600, "steps": 600},
    )
    sign_in(page, "ada")
    page.get_by_role("link", name="long sleep").click()
    expect(page).to_have_url(re.compile(rf"/experiments/{experiment.pk}$"))
    expect(page.locator('#jobs tbody tr[data-status="running"]')).to_have_count(2, timeout=60_000)
    expect(page.locator(".page-head .status")).to_have_text("running")

    page.get_by_role("button", name="Cancel experiment").click()
    page.get_by_role("button", name="Yes, cancel").click()
    expect(page.locator('#jobs tbody tr[data-status="cancelled"]')).to_have_count(2, timeout=60_000)
    expect(page.locator(".page-head .status")).to_have_text("cancelled")
    expect(page.get_by_role("button", name="Cancel experiment")).to_have_count(0)
    page.screenshot(path=str(screenshots / "experiment-cancelled.png"), full_page=True)

    page.get_by_role("link", name="Experiments", exact=True).click()
    expect(
        page.locator(f'#experiments tr[data-experiment="{experiment.pk}"] .status')
    ).to_have_text("cancelled")


def test_pages_keep_updating_by_polling_while_the_websocket_is_down(page, catalog):
    page.route_web_socket(re.compile(r"/ws/"), lambda socket: socket.close())
    ada = UserFactory(username="ada")
    sign_in(page, "ada")
    expect(page.locator(".page-head .live.off")).to_be_visible()
    experiment = make_experiment(
        ada,
        algorithm=catalog["sleep-and-score"],
        name="polled",
        parameters={"x": [0, 1], "duration": 0.5, "steps": 2},
    )
    page.get_by_role("link", name="polled").click()  # appears without a reload
    expect(page).to_have_url(re.compile(rf"/experiments/{experiment.pk}$"))
    expect(page.locator('#jobs tbody tr[data-status="succeeded"]')).to_have_count(2, timeout=60_000)
    expect(page.locator(".page-head .status")).to_have_text("succeeded")


def test_server_errors_are_shown_next_to_the_field_that_caused_them(page, catalog):
    UserFactory(username="ada")
    sign_in(page, "ada")
    page.goto("/experiments/new?algorithm=sleep-and-score")
    page.locator("select[name='x:mode']").select_option("range")
    page.locator("input[name='x:start']").fill("0")
    page.locator("input[name='x:stop']").fill("20")
    page.locator("input[name='x:step']").fill("5")
    # The form checks the parameter's limits itself, naming the bad value.
    expect(page.locator('[data-param="x"] .field-errors')).to_contain_text("outside")
    expect(page.locator('[data-param="x"] .field-errors')).to_contain_text("20")
    expect(page.locator('[data-param="x"] .param-count')).to_have_text("× ?")
    page.locator("input[name='x:stop']").fill("10")
    expect(page.locator('[data-param="x"] .param-count')).to_have_text("× 3")
    page.locator("input[name='resources.memory']").fill("lots")
    page.get_by_role("button", name="Start experiment").click()
    expect(page.locator('[data-field="resources"] .field-errors')).to_contain_text("512Mi")
    expect(page).to_have_url(re.compile(r"/experiments/new"))


def test_an_uploaded_dataset_is_listed_and_previewed(page, catalog, tmp_path):
    UserFactory(username="ada")
    sign_in(page, "ada")
    page.get_by_role("link", name="Datasets").click()
    data = tmp_path / "points.csv"
    data.write_text("a,b\n1,2\n3,4\n5,6\n")
    page.locator("input[name=file]").set_input_files(str(data))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#datasets tbody tr")).to_have_count(1)
    expect(page.locator("#datasets")).to_contain_text("points.csv")
    preview = page.locator("#preview")
    expect(preview.locator("thead th")).to_have_text(["a", "b"])
    expect(preview.locator("tbody tr")).to_have_count(3)
    page.get_by_role("link", name="Algorithms").click()
    expect(page.locator('[data-algorithm="sleep-and-score"]')).to_contain_text("First coordinate")
