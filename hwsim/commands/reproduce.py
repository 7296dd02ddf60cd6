"""``hwsim reproduce STUDY|all``: regenerate the folders of ``sim_results/`` from scratch.

Each study runs its ``run.py`` (or its ``hwsim`` command) in a fresh process of this
interpreter, as one point of a study sweep (:mod:`hwsim.sweep.studies`) whose store lives in
``<out>/.reproduce/`` (``sim_results/.reproduce/`` without ``--out``): a failing study is
recorded there and does not stop the others, a re-run skips the studies done, ``--force``
starts afresh, ``--workers N`` runs N studies at once. The studies and their claims are
:mod:`hwsim.studies.registry`'s.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click

from hwsim.commands.options import JOBS, OutputPath, echo_json, force_option, json_option
from hwsim.errors import HwsimError


def _list(studies, as_json: bool) -> None:
    if as_json:
        echo_json({"studies": [s.to_dict() for s in studies.values()]})
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="studies (hwsim reproduce NAME | all)", title_justify="left")
    for col in ("study", "typical time", "published claim it checks"):
        table.add_column(col)
    for s in studies.values():
        table.add_row(s.name, s.typical or "?", s.claim)
    import sys

    Console(width=None if sys.stdout.isatty() else 120).print(table)


@click.command()
@click.argument("study", required=False)
@click.option("--list", "list_only", is_flag=True, help="List the studies and exit.")
@click.option("-o", "--out", "out", type=OutputPath(folder=True), default=None,
              help="Output folder (default: the study's own folder under sim_results/); "
                   "with 'all', one folder per study inside it.")
@click.option("--quick", is_flag=True,
              help="Small arguments where a study takes them (a first look, tests); needs "
                   "--out, since its results are not the published ones.")
@click.option("--workers", type=JOBS, default=1, show_default=True,
              help="Studies run at once (local worker processes).")
@force_option
@json_option
@click.pass_context
def reproduce(ctx: click.Context, study: str | None, list_only: bool, out: Path | None,
              quick: bool, workers: int, force: bool, as_json: bool) -> None:
    """Regenerate a study of sim_results/ (or 'all') from scratch in a fresh process each.

    A folder that is not empty (such as the study's own) is refused unless --force. The
    studies run as a sweep stored in OUT/.reproduce (sim_results/.reproduce without --out):
    a re-run skips the studies done there and retries the
    failed ones, --force starts afresh. With 'all', a failing
    study does not stop the others; the exit status is 1 if any failed."""
    from hwsim.studies.registry import REPRODUCE_STORE, discover, results_root, select

    studies = discover()
    if list_only:
        _list(studies, as_json)
        return
    if study is None:
        raise HwsimError(f"name a study or all (known: {', '.join(studies)}); --list shows "
                         "what each checks")
    select(study, studies)  # an unknown name: one error naming the known
    if quick and out is None:
        raise HwsimError("--quick writes small-run results: give --out (a folder other than "
                         "the studies' own)")
    folder = (results_root() if out is None else out) / REPRODUCE_STORE
    sweep, points, done = _plan(study, out, quick, folder, force=force)
    from rich.console import Console

    from hwsim.commands.sweep import _progress
    from hwsim.sweep import pool_evaluator, run_sweep

    evaluator = pool_evaluator(workers)
    try:
        run_sweep(sweep, folder, evaluator, force=force, progress=None if as_json else
                  _progress(Console(stderr=True), "reproduce"))
    finally:
        evaluator.close()
    outcomes = _outcomes(folder, points, done)
    failed = [o for o in outcomes if o["status"] != "ok"]
    if as_json:
        echo_json({"studies": outcomes, "ok": len(outcomes) - len(failed),
                   "failed": len(failed), "store": str(folder)})
    else:
        for o in failed:
            click.echo(f"{o['name']} failed:\n  " + (o["error"] or "").replace("\n", "\n  "),
                       err=True)
        click.echo(f"{len(outcomes) - len(failed)} of {len(outcomes)} studies regenerated"
                   + (f"; failed: {', '.join(o['name'] for o in failed)}" if failed else "")
                   + (f" ({len(done)} already done in {folder}, skipped)" if done else ""))
    if failed:
        ctx.exit(1)


def _plan(study: str, out: Path | None, quick: bool, folder: Path, *, force: bool):
    """The study sweep, its points and the keys already done in ``folder``'s store. Before
    anything is written, the folder of every study not recorded there is checked (a failed
    study is retried in its folder); with ``force``, earlier sweep stores are cleared."""
    from hwsim.io import check_output_dir
    from hwsim.studies.registry import SWEEP_STORE
    from hwsim.sweep import Store, parse_sweep
    from hwsim.sweep.store import DB_NAME
    from hwsim.sweep.studies import NAME_FIELD

    spec: dict[str, object] = {"name": study, "quick": quick}
    if out is not None:
        spec["out"] = str(out / NAME_FIELD if study == "all" else out)
    sweep = parse_sweep({"study": spec})
    points = sweep.points()
    done: set[str] = set()
    recorded: set[str] = set()  # done or failed here before: their folders are this sweep's
    if not force and (folder / DB_NAME).is_file():
        with Store(folder) as store:
            done = store.done_keys() & {p.key for p in points}
            recorded = {r["key"] for r in store.finished()}
    todo = [Path(p.task["out"]) for p in points if p.key not in done]
    for p in points:
        if p.key not in recorded:
            check_output_dir(p.task["out"], force=force, what="study folder")
    if force:  # from scratch: sweep stores left by an earlier run start afresh
        for d in (folder, *(d / SWEEP_STORE for d in todo)):
            if (d / DB_NAME).is_file():
                shutil.rmtree(d)
    return sweep, points, done


def _outcomes(folder: Path, points, done: set[str]) -> list[dict[str, object]]:
    """Each study's outcome, in name order, from the store (``resumed``: done before)."""
    from hwsim.sweep import Store

    with Store(folder) as store:
        rows = {r["key"]: r for r in store.finished()}
    outcomes = []
    for p in points:
        row = rows.get(p.key)
        if row is None:
            continue
        o = json.loads(row["record"]) if row["record"] else {
            "name": p.task["study"], "status": "failed", "seconds": row["wall_s"],
            "out": p.task["out"], "files": [], "error": row["error"]}
        outcomes.append({**o, "resumed": p.key in done})
    return outcomes
