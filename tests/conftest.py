"""Settings every test shares.

Hypothesis's defaults time each example (a 200 ms deadline, a ``too_slow`` health check). On a
busy 2-CPU machine one slow example then fails a test that is correct, so a landing depends on the
machine's load. Property tests here check behaviour, never speed (speed lives in ``bench/``): the
profiles below drop every timing check. ``CI`` (set by CI) picks the derandomized profile, so a
failure there reproduces with the same examples; elsewhere the examples vary from run to run.
``HYPOTHESIS_PROFILE`` picks one by name.
"""

import os

from hypothesis import HealthCheck, settings

UNTIMED = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

settings.register_profile("dev", **UNTIMED)
settings.register_profile("ci", derandomize=True, print_blob=True, **UNTIMED)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)
