"""Study sweeps: the study collection of ``sim_results/`` as a sweep file.

A sweep file with ``study:`` instead of ``device:``/``workload:`` regenerates studies
(:mod:`hwsim.studies.registry`); ``hwsim reproduce`` builds one::

    study:
      name: [lmul_precision, gpu_llm]   # study names, or all
      quick: true                       # the studies' small arguments (default false)
      out: /tmp/studies/{name}          # where each writes ({name}: the study's name);
                                        #   default: its own folder, sim_results/<name>

A point is one study; a worker runs its registry command into its folder
(:func:`hwsim.studies.registry.run_study`, a fresh process) and the store keeps its wall time
as the ``seconds`` metric, ``failed`` with the process's last lines when it fails, and the
study's outcome (files written, error) as the row's ``record`` (JSON).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hwsim.errors import HwsimError
from hwsim.sweep.units import failed

#: a study sweep's axes
STUDY_AXES = ("quick", "out")
#: what a study sweep stores (and its default objective)
STUDY_METRICS = ("seconds",)
#: the ``out`` template's placeholder for the study's name
NAME_FIELD = "{name}"


def study_names(names: tuple[Any, ...]) -> tuple[str, ...]:
    """The study names of a sweep file (``all``: every study, in name order), each checked."""
    from hwsim.studies.registry import discover, select

    studies = discover()
    out: list[str] = []
    for name in names:
        if not isinstance(name, str):
            raise HwsimError(f"sweep file: study {name!r} must be a study name or all")
        out += [s.name for s in select(name, studies)]
    return tuple(dict.fromkeys(out))


def study_task(choice: dict[str, Any]) -> dict[str, Any]:
    """What a worker needs to run one study (also its canonical form): the study, the
    collection it belongs to, its output folder (absolute) and whether quick."""
    from hwsim.studies.registry import discover, results_root, select

    root = results_root()
    name, quick, out = choice["study"], choice.get("study.quick", False), choice.get("study.out")
    if not isinstance(quick, bool):
        raise HwsimError(f"sweep file: study quick must be true or false, got {quick!r}")
    if out is not None and (not isinstance(out, str) or not out.strip()):
        raise HwsimError(f"sweep file: study out must be a folder (a path, {NAME_FIELD} for "
                         f"the study's name), got {out!r}")
    (study,) = select(name, discover(root))
    folder = study.folder if out is None else Path(out.replace(NAME_FIELD, study.name))
    return {"study": study.name, "root": str(root), "out": str(folder.absolute()),
            "quick": quick}


def evaluate_study(task: dict[str, Any]) -> dict[str, Any]:
    """Run one study (see the module doc); never raises."""
    from hwsim.studies.registry import discover, run_study

    start = time.perf_counter()
    try:
        root = Path(task["root"])
        study = discover(root)[task["study"]]
        o = run_study(study, Path(task["out"]), quick=task["quick"], cwd=root.parent)
    except Exception as exc:  # recorded, never stops the sweep
        return failed(exc, start)
    outcome = {"status": "done" if o.ok else "failed", "metrics": {"seconds": o.seconds},
               "wall_s": o.seconds, "record": o.to_dict()}
    if not o.ok:
        outcome["error"] = o.error or "the study failed without printing anything"
    return outcome


__all__ = ["NAME_FIELD", "STUDY_AXES", "STUDY_METRICS", "evaluate_study", "study_names",
           "study_task"]
