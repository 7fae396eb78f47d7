"""Session sign-in for the web app: the browser signs in with a password and keeps a cookie.

Every endpoint here checks the CSRF token (header ``X-CSRFToken``, from the ``csrftoken`` cookie
that ``me`` sets), so another site can neither sign a user in nor out.
"""

from __future__ import annotations

from django.contrib.auth import login, logout
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.api.credentials import signed_in_user

SessionUser = inline_serializer(
    "SessionUser",
    {
        "authenticated": serializers.BooleanField(),
        "id": serializers.IntegerField(required=False),
        "username": serializers.CharField(required=False),
        "is_staff": serializers.BooleanField(required=False),
    },
)


class SignInSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


def _describe(user) -> dict:
    if not user.is_authenticated:
        return {"authenticated": False}
    return {
        "authenticated": True,
        "id": user.pk,
        "username": user.get_username(),
        "is_staff": user.is_staff,
    }


class _SessionView(APIView):
    # Only the session matters here; csrf_protect checks CSRF for signed-out users too.
    authentication_classes = [SessionAuthentication]
    permission_classes = [permissions.AllowAny]


@method_decorator(ensure_csrf_cookie, name="dispatch")
class MeView(_SessionView):
    @extend_schema(responses=SessionUser)
    def get(self, request):
        """Who is signed in (``authenticated: false`` when nobody); sets the CSRF cookie."""
        return Response(_describe(request.user))


@method_decorator(csrf_protect, name="dispatch")
class LoginView(_SessionView):
    @extend_schema(request=SignInSerializer, responses=SessionUser)
    def post(self, request):
        form = SignInSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        user = signed_in_user(
            request, form.validated_data["username"], form.validated_data["password"]
        )
        login(request._request, user)
        return Response(_describe(user))


@method_decorator(csrf_protect, name="dispatch")
class LogoutView(_SessionView):
    @extend_schema(request=None, responses=SessionUser)
    def post(self, request):
        logout(request._request)
        return Response({"authenticated": False})
