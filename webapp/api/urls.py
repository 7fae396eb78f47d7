from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from webapp.api import runner, schema, session, views  # noqa: F401  (schema registers extensions)
from webapp.api.nodes import NodesView

router = DefaultRouter()
router.register("algorithms", views.AlgorithmViewSet, basename="algorithm")
router.register("datasets", views.DatasetViewSet, basename="dataset")
router.register("experiments", views.ExperimentViewSet, basename="experiment")
router.register("jobs", views.JobViewSet, basename="job")

urlpatterns = [
    path("auth/token/", views.ObtainTokenView.as_view(), name="auth-token"),
    path("auth/login/", session.LoginView.as_view(), name="auth-login"),
    path("auth/logout/", session.LogoutView.as_view(), name="auth-logout"),
    path("auth/me/", session.MeView.as_view(), name="auth-me"),
    path("runner/job/", runner.RunnerJobView.as_view(), name="runner-job"),
    path("runner/dataset/", runner.RunnerDatasetView.as_view(), name="runner-dataset"),
    path("runner/truth/", runner.RunnerTruthView.as_view(), name="runner-truth"),
    path("runner/events/", runner.RunnerEventsView.as_view(), name="runner-events"),
    path("runner/files/<path:filename>", runner.RunnerFileView.as_view(), name="runner-file"),
    path("runner/result/", runner.RunnerResultView.as_view(), name="runner-result"),
    path(
        "jobs/<int:pk>/files/<path:name>",
        views.JobViewSet.as_view({"get": "file"}),
        name="job-file",
    ),
    path("nodes/", NodesView.as_view(), name="nodes"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include(router.urls)),
]
