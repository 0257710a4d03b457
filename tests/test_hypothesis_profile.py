"""Property tests must not depend on how busy the machine is (see tests/conftest.py)."""

import pytest
from hypothesis import HealthCheck, settings


def test_the_loaded_profile_has_no_deadline_and_no_too_slow_check() -> None:
    assert settings.default.deadline is None
    assert HealthCheck.too_slow in settings.default.suppress_health_check


@pytest.mark.parametrize("profile", ["dev", "ci"])
def test_every_profile_is_untimed(profile: str) -> None:
    chosen = settings.get_profile(profile)
    assert chosen.deadline is None
    assert HealthCheck.too_slow in chosen.suppress_health_check


def test_ci_runs_the_same_examples_every_time() -> None:
    assert settings.get_profile("ci").derandomize
