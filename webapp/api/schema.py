"""OpenAPI descriptions of Petri's two token schemes (loaded by webapp.api.urls)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "webapp.accounts.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Personal API token: `Token <key>`",
        }


class RunnerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "webapp.api.runner.RunnerTokenAuthentication"
    name = "runnerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The per-attempt token a backend gives the runner",
        }
