"""The page fixture's part of a failed test's report: what the server left unanswered."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from petri_pytest.diagnostics import descriptions

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_request_never_answered_and_one_refused_are_named_in_a_failed_report(page, request):
    page.route("**/api/auth/me/", lambda route: None)  # held: as if the server hung
    with page.expect_request("**/api/auth/me/"):
        page.goto("/")
    expect(page.get_by_text("Loading Petri")).to_be_visible()
    assert page.evaluate("fetch('/static/nowhere.js').then((r) => r.status)") == 404

    report = dict(descriptions(request.node))

    assert "/api/auth/me/: unanswered for" in report["browser"]
    assert "GET http://127.0.0.1" in report["browser"]
    assert "/static/nowhere.js: 404" in report["browser"]
    assert "most recent call first" in report["serve"]  # the served Petri's threads
