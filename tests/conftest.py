"""Test-wide settings: the hypothesis profile (bounded, deterministic examples; no per-example deadline).

Select another profile with ``HYPOTHESIS_PROFILE`` (e.g. ``thorough``: more examples, fresh random draws).
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("cosim", max_examples=60, deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2000, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "cosim"))
