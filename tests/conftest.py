"""Suite-wide test settings.

Hypothesis runs without a per-example deadline: the first call of a vectorised numpy routine
is slow (allocation, caches being filled), and a deadline would flag that as flakiness. The
example budget stays small because the vectorised million-sample checks carry the coverage.
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "hwsim",
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("hwsim")
