from __future__ import annotations

from django import forms
from django.db.models import Exists, OuterRef
from django_filters import rest_framework as filters

from jobs.models import Experiment, ExperimentTag, Job, JobStatus
from jobs.validators import INT64_MAX


class IdFilter(filters.NumberFilter):
    """A row id: a whole number a database column can hold (``1e30`` is a 400, not a 500)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", INT64_MAX)
        super().__init__(*args, **kwargs)


class JobFilter(filters.FilterSet):
    experiment = IdFilter(field_name="experiment_id")
    status = filters.MultipleChoiceFilter(choices=JobStatus.choices)

    class Meta:
        model = Job
        fields = ["experiment", "status"]


class ExperimentFilter(filters.FilterSet):
    algorithm = filters.CharFilter(field_name="algorithm__name")
    tag = filters.CharFilter(method="filter_tag", max_length=50, help_text="experiments so tagged")
    # Applied by the viewset (the list hides archived ones by default); here for the schema.
    archived = filters.BooleanFilter(method="filter_nothing", help_text="true: only archived ones")

    class Meta:
        model = Experiment
        fields = ["algorithm", "tag", "archived"]

    def filter_tag(self, queryset, name, value):
        # EXISTS, not a join: the job counts annotated on the list stay right.
        tagged = ExperimentTag.objects.filter(experiment_id=OuterRef("pk"), name=value.strip())
        return queryset.filter(Exists(tagged))

    def filter_nothing(self, queryset, name, value):
        return queryset
