"""Self-contained HTML reports of sweeps and runs (figures inline, PNGs beside the page).

>>> from hwsim.report import write_sweep_report
>>> write_sweep_report("out/quick")["html"]
'out/quick/report.html'
"""

from hwsim.report.run import write_run_report
from hwsim.report.sweep import write_sweep_report

__all__ = ["write_run_report", "write_sweep_report"]
