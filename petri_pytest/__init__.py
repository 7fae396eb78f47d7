"""Petri's pytest plugins: outside services, tiers, and what each test process keeps apart."""

# The tests' password hasher: users made by factories, and the servers the tests start, list it
# first (isolation.py, serve_settings.py); PBKDF2 only where a test is marked for it.
FAST_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"
