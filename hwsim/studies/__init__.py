"""Computations behind the checked-in studies in ``sim_results/`` and the demo.

Each study is a pure function from parameters (with an explicit seed) to a result dataclass;
the scripts in ``sim_results/<study>/`` and ``hwsim demo`` only write and plot what they return.
"""
