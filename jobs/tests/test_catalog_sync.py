from __future__ import annotations

import pytest
from django.conf import settings

from jobs.catalog import sync_algorithms
from jobs.models import Algorithm

pytestmark = pytest.mark.django_db


def test_an_algorithm_disabled_by_an_operator_stays_disabled_after_the_next_sync():
    sync_algorithms(settings.PETRI_ALGORITHMS_DIR)
    Algorithm.objects.filter(name="pc").update(enabled=False, description="stale")
    sync_algorithms(settings.PETRI_ALGORITHMS_DIR)
    pc = Algorithm.objects.get(name="pc")
    assert pc.enabled is False
    assert pc.description != "stale", "everything else is refreshed from algorithm.yaml"


def test_new_catalog_algorithms_start_enabled_and_missing_ones_are_disabled(tmp_path):
    sync_algorithms(settings.PETRI_ALGORITHMS_DIR)
    assert Algorithm.objects.get(name="sleep-and-score").enabled
    folder = tmp_path / "only-one"
    folder.mkdir()
    (folder / "algorithm.yaml").write_text(
        "name: only-one\ntitle: One\nentrypoint: [python, main.py]\n"
    )
    sync_algorithms(tmp_path)
    assert Algorithm.objects.get(name="only-one").enabled
    assert not Algorithm.objects.get(name="pc").enabled


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("name: broken\ntitle: [unclosed\n", "not valid YAML"),
        # A tag that would build a Python object is refused like any bad YAML, never run.
        ("name: !!python/object/apply:os.system [true]\ntitle: t\n", "not valid YAML"),
    ],
)
def test_an_algorithm_yaml_that_is_not_safe_yaml_is_refused_naming_its_file(tmp_path, text, said):
    from jobs.catalog import CatalogError

    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "algorithm.yaml").write_text(text)
    with pytest.raises(CatalogError, match=said) as refused:
        sync_algorithms(tmp_path)
    assert str(folder / "algorithm.yaml") in str(refused.value)
    assert not Algorithm.objects.filter(name="broken").exists()
