"""Files shipped with the cost model: the synthesis dataset, the trained model, tech tables."""

from importlib import resources
from pathlib import Path


def shipped_path(name: str) -> Path:
    """The shipped file ``name`` (e.g. ``designs.csv``, ``model.npz``)."""
    return Path(str(resources.files(__name__).joinpath(name)))
