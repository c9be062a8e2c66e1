"""GPU tests: skipped, every one with the reason, where ONNX Runtime's CUDA provider cannot run.

``GRAPHC_GPU_TEST_DEVICE`` (default ``cuda``) is the device the tests compare against the CPU.
To exercise the tests' code paths on a machine without a GPU::

    GRAPHC_GPU_TESTS=force GRAPHC_GPU_TEST_DEVICE=cpu GRAPHC_IOBINDING=1 python -m pytest tests/gpu

(the comparisons then hold trivially, and the Memcpy lists are empty because the CPU has none).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import graphc

HERE = Path(__file__).resolve().parent
DEVICE = os.environ.get("GRAPHC_GPU_TEST_DEVICE", "cuda").strip().lower() or "cuda"
FORCED = os.environ.get("GRAPHC_GPU_TESTS", "").strip().lower() == "force"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if FORCED or not DEVICE.startswith("cuda") or graphc.runtime.cuda_usable():
        return
    skip = pytest.mark.skip(reason=f"no usable CUDA GPU: {graphc.runtime.cuda_unusable_reason()}")
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


@pytest.fixture
def device() -> str:
    """The device under test (``cuda`` unless ``GRAPHC_GPU_TEST_DEVICE`` says otherwise)."""
    return DEVICE


@pytest.fixture
def device_type() -> str:
    """``'cuda'`` or ``'cpu'``: what ``OrtValue.device_name()`` reports for values on :func:`device`."""
    return "cuda" if DEVICE.startswith("cuda") else "cpu"
