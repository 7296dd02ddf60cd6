"""Writing outputs safely: atomically (temp file + rename), never over a user's files."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from hwsim.errors import HwsimError


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode())


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


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
    else:
        path = Path(out)
        if path.exists() and not path.is_dir():
            raise HwsimError(f"output path {str(path)!r} exists and is not a folder")
        if path.is_dir() and any(path.iterdir()) and not force:
            raise HwsimError(
                f"output folder {str(path)!r} is not empty; choose another or pass --force"
            )
    path.mkdir(parents=True, exist_ok=True)
    return path
