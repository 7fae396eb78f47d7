"""Sharing an experiment read-only with named users; only its owner or staff may."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from jobs import services


class ShareSerializer(serializers.Serializer):
    usernames = serializers.ListField(child=serializers.CharField(max_length=150), min_length=1)


class ChangeableMixin:
    """``get_changeable_object``: 404 when the user cannot see it, 403 when only reading."""

    def get_changeable_object(self):
        obj = self.get_object()
        model = type(obj)
        if not model.objects.changeable_by(self.request.user).filter(pk=obj.pk).exists():
            raise PermissionDenied("this is shared with you to read; only its owner may change it")
        return obj


class SharingMixin(ChangeableMixin):
    @extend_schema(
        methods=["post", "delete"],
        request=ShareSerializer,
        responses=inline_serializer(
            "Shared", {"shared_with": serializers.ListField(child=serializers.CharField())}
        ),
    )
    @action(detail=True, methods=["post", "delete"])
    def share(self, request, pk=None):
        """POST shares with ``usernames`` (read-only); DELETE stops sharing with them."""
        experiment = self.get_changeable_object()
        form = ShareSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        names = form.validated_data["usernames"]
        if request.method == "DELETE":
            shared = services.unshare_experiment(experiment, names)
        else:
            shared = services.share_experiment(experiment, names)
        return Response({"shared_with": shared})
