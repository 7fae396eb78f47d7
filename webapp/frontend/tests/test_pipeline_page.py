"""The pipeline page in a real browser: the DAG's stages turn succeeded live, links, the table."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from jobs.models import Quota
from jobs.services.pipelines import submit_pipeline
from jobs.tests.factories import UserFactory
from webapp.frontend.tests.test_experiment_table import serious
from webapp.frontend.tests.test_web_app import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

SPEC = {
    "name": "small study",
    "stages": [
        {
            "name": "generate",
            "algorithm": "generate-linear-gaussian",
            "parameters": {"nodes": 4, "edge_density": 0.5, "samples": 200, "seed": 5},
        },
        {"name": "pc", "algorithm": "pc", "inputs": {"dataset": "generate"}},
        {"name": "compare", "type": "compare", "needs": ["pc"]},
    ],
}


def test_the_dag_follows_a_pipeline_live_to_its_compare_table(
    page, catalog, axe_source, screenshots
):
    user = UserFactory(username="ada")
    # Its jobs wait until the page shows the DAG pending: the stages must turn succeeded live.
    held = Quota.objects.create(user=user, max_running=0)
    sign_in(page, "ada")
    pipeline = submit_pipeline(user, SPEC)

    page.get_by_role("link", name="Pipelines").first.click()
    page.get_by_role("link", name="small study").click()
    expect(page).to_have_url(re.compile(rf"/pipelines/{pipeline.pk}$"))
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page
    nodes = page.locator("svg.dag .dag-node")
    expect(nodes).to_have_count(3)
    expect(page.locator("svg.dag .dag-edge")).to_have_count(2)
    expect(page.locator('.dag-node[data-stage="compare"]')).to_have_attribute(
        "data-status", "pending"
    )
    held.delete()

    compare = page.locator('.dag-node[data-stage="compare"][data-status="succeeded"]')
    expect(compare).to_be_visible(timeout=180_000)
    expect(page.locator(".page-head .status").first).to_have_text("succeeded")
    assert page.evaluate("window.__sameDocument") is True
    rows = page.locator("#compare-compare tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td").first).to_have_text("pc")
    page.screenshot(path=str(screenshots / "pipeline.png"), full_page=True)
    assert serious(page, axe_source) == []

    page.locator('.dag-node[data-stage="pc"]').click()
    experiment = pipeline.stages.get(name="pc").experiments.get()
    page.locator(f'[data-experiment="{experiment.pk}"] a').click()
    expect(page).to_have_url(re.compile(rf"/experiments/{experiment.pk}$"))
