from __future__ import annotations

import re

from django.conf import settings


def test_every_variable_the_settings_read_has_a_row_in_the_readme():
    source = (settings.BASE_DIR / "webapp" / "settings.py").read_text()
    names = set(re.findall(r'env_\w+\(\s*"([A-Z][A-Z0-9_]+)"', source))
    # Variables built from a prefix (PETRI_<PROVIDER>_CLIENT_ID...) are spelled out here.
    names |= {f"PETRI_{p}_CLIENT_{k}" for p in ("GITHUB", "GOOGLE") for k in ("ID", "SECRET")}
    readme = (settings.BASE_DIR / "README.md").read_text()
    missing = sorted(name for name in names if f"| `{name}` |" not in readme)
    assert not missing, f"add these to README's Configuration table: {missing}"
