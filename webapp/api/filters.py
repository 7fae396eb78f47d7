from __future__ import annotations

from django_filters import rest_framework as filters

from jobs.models import Experiment, Job, JobStatus


class JobFilter(filters.FilterSet):
    experiment = filters.NumberFilter(field_name="experiment_id")
    status = filters.MultipleChoiceFilter(choices=JobStatus.choices)

    class Meta:
        model = Job
        fields = ["experiment", "status"]


class ExperimentFilter(filters.FilterSet):
    algorithm = filters.CharFilter(field_name="algorithm__name")

    class Meta:
        model = Experiment
        fields = ["algorithm"]
