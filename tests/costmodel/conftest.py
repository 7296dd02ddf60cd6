"""Shared fixtures: the shipped dataset and model (no synthesis, no training)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def shipped_df():
    from costmodel.dataset import load_dataset

    return load_dataset()


@pytest.fixture(scope="session")
def shipped_model():
    from costmodel.store import load_model, shipped_model_path

    return load_model(shipped_model_path())
