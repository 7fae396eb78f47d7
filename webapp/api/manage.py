"""Managing experiments on the API: rename, notes, tags, archive, delete, extend."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from jobs.errors import InvalidInput
from jobs.services.extend import extend_experiment
from jobs.services.manage import delete_experiment, update_experiment

CHANGEABLE = ("name", "notes", "tags", "archived")


class ExperimentChangeSerializer(serializers.Serializer):
    """The body of PATCH, for the schema; the rules are jobs.services.manage's."""

    name = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    notes = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    tags = serializers.ListField(child=serializers.CharField(allow_blank=True), required=False)
    archived = serializers.BooleanField(required=False)


class ExtendSerializer(serializers.Serializer):
    parameters = serializers.JSONField(
        required=False, help_text="values to add, per parameter: a scalar, a list or a range"
    )
    repeats = serializers.JSONField(required=False, help_text="the new number of repeats")


class ExperimentManageMixin:
    """PATCH, DELETE and ``extend`` on ExperimentViewSet (which gives ``get_changeable_object``)."""

    def _detail(self, experiment):
        experiment = self.get_queryset().get(pk=experiment.pk)
        return self.retrieve_data(experiment)

    @extend_schema(request=ExperimentChangeSerializer)
    def partial_update(self, request, pk=None):
        """Rename, write notes, replace the tags, archive (``archived: true``) or restore."""
        experiment = self.get_changeable_object()
        if not isinstance(request.data, dict):
            raise InvalidInput({"detail": ["send an object with name, notes, tags or archived"]})
        unknown = sorted(set(request.data) - set(CHANGEABLE))
        if unknown:
            hint = "; add jobs with POST extend/" if "parameters" in unknown else ""
            raise InvalidInput(
                {
                    str(name)[:100]: [
                        f"cannot be changed (changeable: {', '.join(CHANGEABLE)}){hint}"
                    ]
                    for name in unknown
                }
            )
        # Raw values: the service checks each one's type, so 5 is no name and "yes" no boolean.
        update_experiment(
            experiment, **{key: request.data[key] for key in CHANGEABLE if key in request.data}
        )
        return Response(self._detail(experiment))

    def destroy(self, request, pk=None):
        """Delete it with its jobs, results and files (409 while any job is unfinished)."""
        delete_experiment(self.get_changeable_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=ExtendSerializer,
        responses=inline_serializer(
            "ExtendExperiment",
            {"added": serializers.IntegerField(), "experiment": serializers.DictField()},
        ),
    )
    @action(detail=True, methods=["post"])
    def extend(self, request, pk=None):
        """Add values or repeats to a grid; only points never queued become new jobs."""
        experiment = self.get_changeable_object()
        form = ExtendSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        added = extend_experiment(experiment, **form.validated_data)
        return Response({"added": added, "experiment": self._detail(experiment)})
