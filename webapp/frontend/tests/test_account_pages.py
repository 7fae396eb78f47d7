"""The account, usage and sharing pages in a real browser."""

from __future__ import annotations

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


@pytest.mark.real_password_hashing  # the sign-in checks a PBKDF2 hash in the served app
def test_a_token_is_created_with_its_key_shown_once_then_revoked(page, catalog, screenshots):
    ada = UserFactory(username="ada", email="ada@example.org")
    assert ada.password.startswith("pbkdf2_sha256$")
    sign_in(page, "ada")
    page.get_by_role("link", name="Account").click()
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.get_by_text("No tokens yet.")).to_be_visible()

    page.locator("input[name=token-name]").fill("laptop")
    page.get_by_role("button", name="Create token").click()
    new_key = page.locator("#new-key")
    expect(new_key).to_contain_text("shown only this once")
    key = page.get_by_label("new token key").input_value()
    assert len(key) > 20
    rows = page.locator("#tokens tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("laptop")
    expect(rows.first.locator("td.last-used")).to_have_text("never")
    prefix = rows.first.locator("code").inner_text().rstrip("…")
    assert prefix and key.startswith(prefix)
    assert key not in page.locator("#tokens").inner_text()  # only the prefix is listed
    page.screenshot(path=str(screenshots / "account.png"), full_page=True)

    # The key works for scripts, and is not shown again once the page is left.
    answer = page.request.get("/api/me/", headers={"Authorization": f"Token {key}"})
    assert answer.ok and answer.json()["username"] == "ada"
    page.reload()
    expect(rows).to_have_count(1)
    expect(page.locator("#new-key")).to_have_count(0)
    expect(rows.first.locator("td.last-used")).not_to_have_text("never")  # last used is now

    # E-mail notifications: switched off, and still off after a reload.
    box = page.locator("input[name=email_notifications]")
    expect(box).to_be_checked()
    box.uncheck()
    expect(box).not_to_be_checked()
    expect(box).to_be_enabled()
    page.reload()
    expect(page.locator("input[name=email_notifications]")).not_to_be_checked()

    rows.first.get_by_role("button", name="Revoke").click()
    expect(rows.first).to_contain_text("Scripts using it stop working")
    rows.first.get_by_role("button", name="Revoke it").click()
    expect(page.get_by_text("No tokens yet.")).to_be_visible()
    answer = page.request.get("/api/me/", headers={"Authorization": f"Token {key}"})
    assert answer.status in (401, 403)


def test_an_experiment_shared_with_another_user_is_read_only_for_them(page, catalog, screenshots):
    ada = UserFactory(username="ada")
    UserFactory(username="bob")
    UserFactory(username="carol")
    experiment = make_experiment(
        ada,
        algorithm=catalog["sleep-and-score"],
        name="shared sleep",
        parameters={"x": [0], "duration": 600, "steps": 600},
    )
    sign_in(page, "ada")
    page.get_by_role("link", name="shared sleep").click()
    expect(page).to_have_url(re.compile(rf"/experiments/{experiment.pk}$"))
    expect(page.locator('#jobs tbody tr[data-status="running"]')).to_have_count(1, timeout=60_000)

    page.get_by_role("button", name="Share").click()
    sharing = page.locator("#sharing")
    expect(sharing).to_contain_text("Not shared with anyone.")
    sharing.locator("input[name=share-usernames]").fill("nobody-here")
    sharing.get_by_role("button", name="Share").click()
    expect(sharing.locator(".field-errors")).to_contain_text("cannot share with nobody-here")
    sharing.locator("input[name=share-usernames]").fill("bob, carol")
    sharing.get_by_role("button", name="Share").click()
    expect(sharing.locator("[data-shared-with]")).to_have_count(2)
    sharing.get_by_role("button", name="Stop sharing with carol").click()
    expect(sharing.locator("[data-shared-with]")).to_have_text(["bob✕"])
    link = page.get_by_label("experiment link").input_value()
    assert link.endswith(f"/experiments/{experiment.pk}")
    page.screenshot(path=str(screenshots / "experiment-sharing.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()
    # The sign-in form shows once the server has ended the session, not before.
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    sign_in(page, "bob")
    row = page.locator(f'#experiments tr[data-experiment="{experiment.pk}"]')
    expect(row.locator(".shared-tag")).to_have_text("shared by ada")
    row.get_by_role("link", name="shared sleep").click()
    expect(page.locator("#shared-by")).to_have_text("shared by ada (read-only)")
    expect(page.locator('#jobs tbody tr[data-status="running"]')).to_have_count(1)
    expect(page.get_by_role("button", name=re.compile("^Share"))).to_have_count(0)
    expect(page.get_by_role("button", name="Cancel experiment")).to_have_count(0)
    expect(page.locator("#jobs tbody button")).to_have_count(0)
    page.screenshot(path=str(screenshots / "experiment-shared.png"), full_page=True)


def test_the_usage_page_shows_a_finished_jobs_usage(page, catalog, screenshots):
    ada = UserFactory(username="ada")
    experiment = make_experiment(
        ada,
        algorithm=catalog["sleep-and-score"],
        name="measured",
        parameters={"x": [0], "duration": 0.5, "steps": 2},
    )
    sign_in(page, "ada")
    page.get_by_role("link", name="Usage").click()
    expect(page).to_have_url(re.compile(r"/usage$"))
    page.get_by_role("link", name="Experiments", exact=True).click()
    page.get_by_role("link", name="measured").click()
    expect(page).to_have_url(re.compile(rf"/experiments/{experiment.pk}$"))
    expect(page.locator('#jobs tbody tr[data-status="succeeded"]')).to_have_count(1, timeout=60_000)

    page.get_by_role("link", name="Usage").click()
    rows = page.locator("#usage tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("[data-field=attempts]")).to_have_text("1")
    cpu_hours = float(rows.first.locator("[data-field=cpu_hours]").inner_text())
    assert cpu_hours > 0
    page.screenshot(path=str(screenshots / "usage.png"), full_page=True)

    # A direct load of the client-side route gets the app, not a 404.
    page.goto("/usage")
    expect(page.locator("#usage tbody tr")).to_have_count(1)


def test_the_sign_in_page_offers_the_configured_providers(page, catalog, screenshots):
    providers = {
        "providers": [
            {"id": "github", "name": "GitHub", "login_url": "/accounts/github/login/"},
            {"id": "google", "name": "Google", "login_url": "/accounts/google/login/"},
        ],
        "signup": "closed",
        "signup_url": "/accounts/signup/",
        "login_url": "/accounts/login/",
    }
    page.route("**/api/auth/providers/", lambda route: route.fulfill(json=providers))
    page.goto("/experiments")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    github = page.get_by_role("link", name="Sign in with GitHub")
    expect(github).to_have_attribute(
        "href", "/accounts/github/login/?process=login&next=%2Fexperiments"
    )
    expect(page.get_by_role("link", name="Sign in with Google")).to_be_visible()
    page.screenshot(path=str(screenshots / "login-providers.png"))


def test_the_sign_in_page_shows_no_provider_when_none_is_configured(page, catalog):
    page.goto("/login")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.locator("[data-provider]")).to_have_count(0)
