"""Writing outputs safely: atomically (temp file + rename), never over a user's files.

Every writer of the suite goes through this module, so that a bad output path is one
:class:`~hwsim.errors.HwsimError` (the CLI's one-line ``error:``) wherever it is given:

- :func:`check_output_file` / :func:`check_output_dir` refuse, before any work starts, an
  empty path, a path under a regular file, a folder where a file is expected (or the reverse),
  a place the user cannot write (permissions, ``/proc``, a read-only file system) and, unless
  ``force``, an existing file or a non-empty folder;
- :func:`atomic_write_bytes` and :func:`make_dirs` turn the ``OSError`` of a write that fails
  anyway (disk full, a folder removed meanwhile) into the same error, and never leave a
  partial file: the temp file is removed on failure.

Files are created with mode ``0o666`` filtered by the user's umask, like any other program's
(``tempfile.mkstemp`` would give ``0o600``).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from hwsim.errors import HwsimError


def _os_error(exc: OSError, action: str, path: str | Path) -> HwsimError:
    reason = exc.strerror or type(exc).__name__
    return HwsimError(f"cannot {action} {str(path)!r}: {reason}")


def _nonempty(path: str | Path, what: str) -> Path:
    if not str(path).strip():
        raise HwsimError(f"{what} must be a path, got an empty string")
    return Path(path)


def _check_writable_folder(folder: Path, what: str, target: Path) -> None:
    """Raise unless a file can be created somewhere at or below ``folder``.

    The check walks up to the closest folder that exists (the rest would be created) and
    creates and removes a probe file there: the only test that also holds for root, whom
    permission bits do not stop, and for pseudo and read-only file systems.
    """
    probe_dir = folder
    while not probe_dir.exists():
        if probe_dir.is_symlink():  # a dangling link: mkdir would fail on it
            raise HwsimError(f"{what} {str(target)!r}: {str(probe_dir)!r} is a broken link")
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise HwsimError(f"{what} {str(target)!r} lies under {str(probe_dir)!r}, which is a "
                         "file, not a folder")
    probe = probe_dir / f".hwsim-probe-{secrets.token_hex(6)}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise HwsimError(f"{what} {str(target)!r}: cannot write in {str(probe_dir)!r} "
                         f"({exc.strerror or type(exc).__name__})") from None
    probe.unlink(missing_ok=True)


def check_output_file(path: str | Path, *, force: bool = True,
                      what: str = "output file") -> Path:
    """``path`` as a :class:`Path` if a file can be written there, else :class:`HwsimError`.

    An existing file is refused unless ``force`` (callers that take ``--force`` pass it).
    """
    p = _nonempty(path, what)
    if p.is_dir():
        raise HwsimError(f"{what} {str(p)!r} is a folder; give a file name")
    if p.exists() and not force:
        raise HwsimError(f"{what} {str(p)!r} exists; choose another path or pass --force "
                         "(force=True)")
    if p.exists() and not p.is_file():
        raise HwsimError(f"{what} {str(p)!r} exists and is not a regular file")
    _check_writable_folder(p.parent, what, p)
    return p


def check_output_dir(path: str | Path, *, force: bool = True,
                     what: str = "output folder") -> Path:
    """``path`` as a :class:`Path` if a folder can be made or written there.

    A folder that exists and is not empty is refused unless ``force``.
    """
    p = _nonempty(path, what)
    if p.exists() and not p.is_dir():
        raise HwsimError(f"{what} {str(p)!r} exists and is not a folder")
    if p.is_dir() and not force and any(p.iterdir()):
        raise HwsimError(f"{what} {str(p)!r} is not empty; choose another or pass --force")
    _check_writable_folder(p, what, p)
    return p


def make_dirs(path: str | Path) -> Path:
    """``mkdir -p path``, with the failure as :class:`HwsimError`."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _os_error(exc, "create folder", p) from None
    return p


def _create_temp(folder: Path, name: str) -> tuple[int, Path]:
    while True:
        tmp = folder / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            # 0o666: the kernel applies the user's umask, as for any file a program creates
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one."""
    path = _nonempty(path, "output file")
    make_dirs(path.parent)
    tmp: Path | None = None
    try:
        fd, tmp = _create_temp(path.parent, path.name)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise _os_error(exc, "write", path) from None
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode())


def _plain(obj: Any) -> Any:
    if hasattr(obj, "item") and callable(obj.item):  # NumPy scalars
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def dumps_json(obj: Any, *, indent: int | None = 2) -> str:
    """Strict JSON (``NaN``/``Infinity`` are not JSON: they raise instead of being written);
    NumPy scalars and paths are written as the plain values they hold."""
    return json.dumps(obj, indent=indent, sort_keys=False, allow_nan=False, default=_plain)


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, dumps_json(obj) + "\n")


def csv_text(rows: list[Mapping[str, Any]]) -> str:
    """CSV of dict rows (columns: the first row's keys), floats to 6 significant digits."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def write_tables(out: str | Path, tables: Mapping[str, list[Mapping[str, Any]]]) -> str:
    """A study's tables: ``out/<name>.csv`` each and all of them in ``out/results.json``,
    atomically; returns the CSV texts for printing."""
    texts = {name: csv_text(rows) for name, rows in tables.items()}
    for name, text in texts.items():
        atomic_write_text(Path(out) / f"{name}.csv", text)
    atomic_write_json(Path(out) / "results.json", dict(tables))
    return "\n".join(texts.values())


def save_figure(fig, path: str | Path, dpi: int = 120) -> Path:
    """Save a matplotlib figure atomically as PNG."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return atomic_write_bytes(path, buf.getvalue())


def fresh_output_dir(out: str | Path | None, default_parent: str | Path, force: bool) -> Path:
    """The folder a run writes into: ``out``, or a new timestamped folder in ``default_parent``.

    An existing non-empty ``out`` is refused unless ``force`` (nothing is overwritten unasked).
    """
    if out is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = Path(default_parent) / stamp
        n = 1
        while path.exists():
            path = Path(default_parent) / f"{stamp}-{n}"
            n += 1
        check_output_dir(path)
    else:
        path = check_output_dir(out, force=force)
    return make_dirs(path)


#: the largest configuration file :func:`read_mapping` reads (device files, sweep files)
MAX_CONFIG_BYTES = 1 << 20


def read_mapping(path: str | Path, *, what: str = "file") -> dict[str, Any]:
    """A YAML or JSON file whose top level is a mapping, or one HwsimError saying why not.

    JSON is read by suffix ``.json``; anything else as YAML (a superset of JSON) with
    ``yaml.safe_load``, so no tag constructs a Python object.
    """
    import yaml  # a core dependency; imported here to keep `import hwsim.io` light

    path = Path(path)
    if not path.is_file():
        raise HwsimError(f"{what} {str(path)!r} does not exist or is not a file")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise HwsimError(f"{what} {str(path)!r} is larger than {MAX_CONFIG_BYTES} bytes")
    kind = "JSON" if path.suffix == ".json" else "YAML"
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if kind == "JSON" else yaml.safe_load(text)
    except OSError as exc:
        raise _os_error(exc, "read", path) from None
    except (UnicodeDecodeError, ValueError, yaml.YAMLError, RecursionError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise HwsimError(f"{what} {str(path)!r} is not valid {kind}: {msg}") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise HwsimError(f"{what} {str(path)!r} must hold a mapping of names to values")
    return data
