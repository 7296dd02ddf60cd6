"""hwsim: hardware simulation and cost models for low-precision deep-learning arithmetic.

Kept light on purpose: ``import hwsim.numerics`` must not pull in SimPy, matplotlib or the CLI.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hwsim")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
