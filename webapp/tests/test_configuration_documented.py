from __future__ import annotations

import re

from django.conf import settings


def documented_text() -> str:
    """The docs' tables of variables: docs/configuration.md and each topic's own page."""
    return "\n".join(path.read_text() for path in sorted((settings.BASE_DIR / "docs").glob("*.md")))


def test_every_variable_the_settings_read_has_a_row_in_the_docs():
    source = (settings.BASE_DIR / "webapp" / "settings.py").read_text()
    names = set(re.findall(r'env_\w+\(\s*"([A-Z][A-Z0-9_]+)"', source))
    # Variables built from a prefix (PETRI_<PROVIDER>_CLIENT_ID...) are spelled out here.
    names |= {f"PETRI_{p}_CLIENT_{k}" for p in ("GITHUB", "GOOGLE") for k in ("ID", "SECRET")}
    docs = documented_text()
    missing = sorted(name for name in names if f"| `{name}` |" not in docs)
    assert not missing, f"add these to the table of docs/configuration.md: {missing}"


def test_every_page_of_docs_is_linked_from_the_readme():
    readme = (settings.BASE_DIR / "README.md").read_text()
    pages = sorted(path.name for path in (settings.BASE_DIR / "docs").glob("*.md"))
    unlinked = [name for name in pages if f"](docs/{name})" not in readme]
    assert not unlinked, f"link these from README.md's Documentation list: {unlinked}"
