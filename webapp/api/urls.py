from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from webapp.api import accounts, runner, schema, session, views  # noqa: F401  (schema: extensions)
from webapp.api.nodes import NodesView
from webapp.api.pipelines import PipelineViewSet
from webapp.api.schedules import ScheduleViewSet
from webapp.api.sources import ArtifactViewSet, DatabaseViewSet
from webapp.api.usage import UsageView

router = DefaultRouter()
router.register("algorithms", views.AlgorithmViewSet, basename="algorithm")
router.register("datasets", views.DatasetViewSet, basename="dataset")
router.register("experiments", views.ExperimentViewSet, basename="experiment")
router.register("jobs", views.JobViewSet, basename="job")
router.register("tokens", accounts.TokenViewSet, basename="token")
router.register("databases", DatabaseViewSet, basename="database")
router.register("artifacts", ArtifactViewSet, basename="artifact")
router.register("schedules", ScheduleViewSet, basename="schedule")
router.register("pipelines", PipelineViewSet, basename="pipeline")

urlpatterns = [
    path("auth/token/", views.ObtainTokenView.as_view(), name="auth-token"),
    path("auth/login/", session.LoginView.as_view(), name="auth-login"),
    path("auth/logout/", session.LogoutView.as_view(), name="auth-logout"),
    path("auth/me/", session.MeView.as_view(), name="auth-me"),
    path("auth/providers/", accounts.ProvidersView.as_view(), name="auth-providers"),
    path("me/", accounts.MeView.as_view(), name="me"),
    path("runner/job/", runner.RunnerJobView.as_view(), name="runner-job"),
    path("runner/dataset/", runner.RunnerDatasetView.as_view(), name="runner-dataset"),
    path("runner/truth/", runner.RunnerTruthView.as_view(), name="runner-truth"),
    path("runner/artifact/", runner.RunnerArtifactView.as_view(), name="runner-artifact"),
    path("runner/events/", runner.RunnerEventsView.as_view(), name="runner-events"),
    path("runner/files/<path:filename>", runner.RunnerFileView.as_view(), name="runner-file"),
    path("runner/result/", runner.RunnerResultView.as_view(), name="runner-result"),
    path(
        "jobs/<int:pk>/files/<path:name>",
        views.JobViewSet.as_view({"get": "file"}),
        name="job-file",
    ),
    path(
        "experiments/<int:pk>/export.csv",
        views.ExperimentViewSet.as_view({"get": "export_csv"}),
        name="experiment-export-csv",
    ),
    path(
        "experiments/<int:pk>/outputs.zip",
        views.ExperimentViewSet.as_view({"get": "outputs_zip"}),
        name="experiment-outputs-zip",
    ),
    path("nodes/", NodesView.as_view(), name="nodes"),
    path("usage/", UsageView.as_view(), name="usage"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include(router.urls)),
]
