"""The users' own account: personal API tokens, preferences, and the sign-in providers."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.accounts import services
from webapp.accounts.adapters import enabled_providers
from webapp.accounts.models import ApiToken


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at"]

    def validate_expires_at(self, value):
        from django.utils import timezone

        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("must be in the future")
        return value


class NewApiTokenSerializer(ApiTokenSerializer):
    key = serializers.CharField(read_only=True, help_text="shown this once; store it now")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]


class TokenViewSet(
    mixins.ListModelMixin,
    mixins.DestroyModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """``/api/tokens/``: the signed-in user's tokens; a new key is shown only in the answer."""

    serializer_class = ApiTokenSerializer
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return ApiToken.objects.none()
        return services.tokens_of(self.request.user)

    @extend_schema(request=ApiTokenSerializer, responses={201: NewApiTokenSerializer})
    def create(self, request, *args, **kwargs):
        form = ApiTokenSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        token, key = services.create_token(
            request.user, form.validated_data["name"], form.validated_data.get("expires_at")
        )
        token.key = key
        return Response(NewApiTokenSerializer(token).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: ApiToken) -> None:
        services.revoke_token(self.request.user, instance.pk)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)
    is_staff = serializers.BooleanField(read_only=True)
    email_notifications = serializers.BooleanField()


def _me(user) -> dict:
    return {
        "id": user.pk,
        "username": user.get_username(),
        "email": user.email,
        "is_staff": user.is_staff,
        "email_notifications": services.profile_of(user).email_notifications,
    }


class MeView(APIView):
    """``/api/me/``: who I am and my preferences (PATCH ``email_notifications``)."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(_me(request.user))

    @extend_schema(request=MeSerializer, responses=MeSerializer)
    def patch(self, request):
        form = MeSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        if "email_notifications" in form.validated_data:
            services.set_email_notifications(
                request.user, form.validated_data["email_notifications"]
            )
        return Response(_me(request.user))


class ProvidersView(APIView):
    """``/api/auth/providers/``: the external sign-in providers this installation offers."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []

    @extend_schema(
        responses=inline_serializer(
            "AuthProviders",
            {
                "providers": serializers.ListField(child=serializers.DictField()),
                "signup": serializers.CharField(),
                "signup_url": serializers.CharField(),
                "login_url": serializers.CharField(),
            },
        )
    )
    def get(self, request):
        from django.conf import settings
        from django.urls import reverse

        return Response(
            {
                "providers": enabled_providers(),
                "signup": settings.PETRI_SIGNUP,
                "signup_url": reverse("account_signup"),
                "login_url": reverse("account_login"),
            }
        )
