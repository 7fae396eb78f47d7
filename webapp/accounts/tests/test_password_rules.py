"""Password rules: one like the username or all digits is refused wherever a password is set."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.core.management import CommandError, call_command
from django.test import Client

WEAK = {
    "the username": "carolina-lee",
    "all digits": "83920175624",
}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(WEAK))
def test_sign_up_refuses_a_password_like_the_username_or_all_digits(kind, settings):
    settings.PETRI_SIGNUP = "open"
    password = WEAK[kind]
    response = Client().post(
        "/accounts/signup/",
        {"username": "carolina-lee", "email": "", "password1": password, "password2": password},
    )
    assert response.status_code == 200  # the form again, with the reason
    assert not get_user_model().objects.filter(username="carolina-lee").exists()
    errors = response.context["form"].errors["password1"]
    assert any(("similar" in e) or ("numeric" in e) for e in errors), errors


@pytest.mark.parametrize("kind", sorted(WEAK))
def test_changing_a_password_refuses_a_weak_one(kind, db):
    from jobs.tests.factories import UserFactory

    user = UserFactory(username="carolina-lee")
    client = Client()
    client.force_login(user)
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": "s3cret-pass", "password1": WEAK[kind], "password2": WEAK[kind]},
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password("s3cret-pass")


def test_the_admin_and_the_changepassword_command_refuse_a_weak_one(db, monkeypatch):
    from jobs.tests.factories import UserFactory

    user = UserFactory(username="carolina-lee")
    for password in WEAK.values():
        form = AdminPasswordChangeForm(user, {"password1": password, "password2": password})
        assert not form.is_valid()
    answers = iter([WEAK["all digits"]] * 2 * 3)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(CommandError):
        call_command("changepassword", "carolina-lee")
    user.refresh_from_db()
    assert user.check_password("s3cret-pass")


def test_a_long_unrelated_password_is_accepted(db, settings):
    settings.PETRI_SIGNUP = "open"
    response = Client().post(
        "/accounts/signup/",
        {
            "username": "carolina-lee",
            "email": "",
            "password1": "tidal-kiwi-93",
            "password2": "tidal-kiwi-93",
        },
    )
    assert response.status_code == 302
