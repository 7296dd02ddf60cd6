"""Leave-one-family-out scores of the cost model for the LUT families (issue 15).

Runs :func:`costmodel.validate.validate` with the ``family`` split (as ``hwsim cost validate
--split family``) on the shipped dataset and writes ``lofo.json``: per target, each family's
held-out MAPE (%) of the chosen model and of the physically-informed baseline, and the pooled
scores. Takes ~10 minutes on a loaded 2-core machine.

Run: ``python sim_results/lut_tensor_core/lofo.py [DATASET_CSV]``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from costmodel.dataset import load_dataset  # noqa: E402
from costmodel.validate import validate  # noqa: E402
from hwsim.io import atomic_write_text  # noqa: E402

HERE = Path(__file__).resolve().parent
LUT_FAMILIES = ("lut-precompute", "lut-mpgemm")


def main() -> None:
    t0 = time.time()
    df = load_dataset(sys.argv[1] if len(sys.argv) > 1 else None)
    rep = validate(df, splits=("family",))
    out = {"rows": len(df), "families": sorted(df["unit"].unique()),
           "seconds": round(time.time() - t0),
           "per_family": {t: {f: {"model_mape": round(m, 1), "baseline_mape": round(b, 1)}
                              for f, (m, b) in sorted(g.items())}
                          for t, g in rep.per_family.items()},
           "pooled": [{"target": s.target, "kind": s.kind, "mape": round(s.mape, 1),
                       "baseline_mape": round(s.baseline_mape, 1), "n": s.n_test}
                      for s in rep.scores]}
    atomic_write_text(HERE / "lofo.json", json.dumps(out, indent=1) + "\n")
    for t, g in rep.per_family.items():
        for f in LUT_FAMILIES:
            if f in g:
                print(f"{t:7s} {f:15s} model {g[f][0]:6.1f}%  baseline {g[f][1]:6.1f}%")


if __name__ == "__main__":
    main()
