"""Settings of the `serve` processes the tests start: Petri's own, with the fast hasher first.

Users made by the tests carry fast hashes, and a sign-in through the served app checks one
without a second of PBKDF2. A password hashed for real (``real_password_hashing``) is still
checked with PBKDF2, as production checks it.
"""

from __future__ import annotations

from django.conf import global_settings

from petri_pytest import FAST_HASHER
from webapp.settings import *  # noqa: F403

PASSWORD_HASHERS = [FAST_HASHER, *global_settings.PASSWORD_HASHERS]
