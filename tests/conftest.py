"""Shared test settings: deterministic hypothesis runs without per-example deadlines."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "mmtok",
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("mmtok")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # ``make test`` runs two xdist workers on two cores: one intra-op thread each avoids
    # oversubscribing the cores (torch would otherwise start two threads per worker).
    import torch

    torch.set_num_threads(1)
