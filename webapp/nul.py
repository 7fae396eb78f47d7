"""Refuse NUL in a request's path or query string before any view or database sees it.

Postgres refuses NUL in text, so a ``?metric=a%00`` or ``?user=a%00`` reaching a query is a
500; one check here covers every parameter of every page and endpoint.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from jobs.validators import NUL

MESSAGE = "must not contain the NUL character"


class RefuseNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.path:
            return JsonResponse({"path": [MESSAGE]}, status=400)
        for name, values in request.GET.lists():
            if NUL in name or any(NUL in value for value in values):
                return JsonResponse({name.replace(NUL, "") or "query": [MESSAGE]}, status=400)
        return self.get_response(request)
