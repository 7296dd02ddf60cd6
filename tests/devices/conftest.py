"""SCALE-Sim gating: skip with a reason when it is missing, fail under CI (it is in [dev])."""

import os

import pytest

from hwsim.devices import scalesim_compat


@pytest.fixture(scope="session")
def scalesim_ok() -> None:
    if scalesim_compat.available():
        return
    msg = "scalesim is not installed (pip install 'hwsim[dev]'; 3.0.0 needs numpy < 2.4)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg)
    pytest.skip(msg)
