"""DRF authentication with personal API tokens: ``Authorization: Token <key>``."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from webapp.accounts.tokens import user_for_key


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace").split()
        if not header or header[0].lower() != self.keyword.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Token <key>'.")
        found = user_for_key(header[1])
        if found is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        return found

    def authenticate_header(self, request):
        return self.keyword
