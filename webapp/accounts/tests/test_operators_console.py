"""The admin as the operators' console: people, quotas, queue depth, priority, replicas."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from jobs import services
from jobs.models import Quota
from jobs.tests.factories import UserFactory, make_experiment
from scheduler.models import SchedulerReplica
from webapp.accounts.services import hold_for_approval


@pytest.fixture
def operator(client, db):
    client.force_login(UserFactory(username="op", is_staff=True, is_superuser=True))
    return client


def test_the_user_list_shows_each_users_queue_depth(operator, user, other_user):
    make_experiment(user, parameters={"n": [1, 2, 3, 4]})
    make_experiment(other_user, parameters={"n": [1]})
    services.mark_dispatched(services.claim_waiting_jobs(scheduler="s", backend="noop", limit=1))
    page = operator.get("/admin/auth/user/?o=-6")  # most waiting first (0 is the checkbox)
    assert page.status_code == 200
    rows = {u.username: (u.waiting_count, u.running_count) for u in page.context["cl"].result_list}
    # The claim took the oldest job: alice's first.
    assert rows == {"alice": (3, 1), "bob": (1, 0), "op": (0, 0)}
    assert list(rows) == ["alice", "bob", "op"]


def test_approving_lets_waiting_accounts_in(operator, db):
    newcomer = UserFactory(username="newcomer")
    hold_for_approval(newcomer)
    assert not type(newcomer).objects.get(pk=newcomer.pk).is_active
    listed = operator.get("/admin/auth/user/?profile__approved__exact=0")
    assert [u.username for u in listed.context["cl"].result_list] == ["newcomer"]
    operator.post("/admin/auth/user/", {"action": "approve", "_selected_action": [newcomer.pk]})
    newcomer.refresh_from_db()
    assert newcomer.is_active and newcomer.profile.approved


def test_a_users_quota_and_profile_are_edited_on_the_user_page(operator, user):
    page = operator.get(f"/admin/auth/user/{user.pk}/change/")
    assert page.status_code == 200
    assert b"email_notifications" in page.content and b"max_running" in page.content


def test_a_groups_quota_is_edited_on_the_group_page(operator, db):
    group = Group.objects.create(name="lab")
    Quota.objects.create(group=group, max_gpu=2)
    page = operator.get(f"/admin/auth/group/{group.pk}/change/")
    assert page.status_code == 200 and b"max_gpu" in page.content


def test_the_priority_action_reorders_waiting_jobs_only(operator, user):
    experiment = make_experiment(user, parameters={"n": [1, 2, 3]})
    services.mark_dispatched(services.claim_waiting_jobs(scheduler="s", backend="noop", limit=1))
    ids = list(experiment.jobs.values_list("pk", flat=True))
    response = operator.post(
        "/admin/jobs/job/", {"action": "set_priority", "_selected_action": ids, "priority": "7"}
    )
    assert response.status_code == 302
    priorities = dict(experiment.jobs.values_list("status", "priority").distinct())
    assert priorities == {"waiting": 7, "pending": 0}


def test_the_priority_action_needs_a_number(operator, user):
    experiment = make_experiment(user, parameters={"n": [1]})
    response = operator.post(
        "/admin/jobs/job/",
        {"action": "set_priority", "_selected_action": [experiment.jobs.get().pk], "priority": ""},
        follow=True,
    )
    assert b"whole number" in response.content
    assert experiment.jobs.get().priority == 0


def test_change_priority_tells_how_many_jobs_changed(user):
    experiment = make_experiment(user, parameters={"n": [1, 2]})
    assert services.change_priority(experiment.jobs.all(), 5) == 2
    assert services.change_priority(experiment.jobs.all(), 5) == 0


def test_replicas_show_the_seconds_since_their_last_heartbeat(operator, db):
    replica = SchedulerReplica.objects.create(
        identity="sched-a", backend="noop", last_seen_at=timezone.now() - timedelta(seconds=95)
    )
    page = operator.get("/admin/scheduler/schedulerreplica/")
    assert page.status_code == 200
    assert b"sched-a" in page.content
    admin = page.context["cl"].model_admin
    # Its own row: a served scheduler of an earlier test may still be saying goodbye.
    seconds = admin.seconds_since_heartbeat(SchedulerReplica.objects.get(pk=replica.pk))
    assert 95 <= seconds < 120
    assert b"seconds since last heartbeat" in page.content.lower()
