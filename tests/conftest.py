"""Test-suite settings: hypothesis profiles.

``default`` keeps the property tests to a modest number of cases per test so the suite stays
fast; ``python -m pytest tests/property --hypothesis-profile=deep`` runs thousands.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")
