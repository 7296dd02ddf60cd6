"""Format names to formats: the one place that decides "element or block format".

:func:`resolve` turns any spelling the suite accepts into the format's identity, a frozen
:class:`~hwsim.numerics.formats.FloatFormat`, :class:`~hwsim.numerics.formats.IntFormat` or
:class:`~hwsim.numerics.blocks.BlockFormat`. Aliases give equal objects with one canonical
``name`` (``e3m4``, ``fp8_e3m4`` and ``float8_e3m4`` are all ``fp8_e3m4``), so anything keyed
or hashed by format (caches, dicts, cost tables) should key on the resolved format, or on its
``name``, never on the spelling a user typed.
"""

from __future__ import annotations

from hwsim.errors import HwsimError
from hwsim.numerics.blocks import BLOCK_GRAMMAR, BlockFormat, get_block_format
from hwsim.numerics.formats import (
    BLOCK_PREFIXES,
    ELEMENT_GRAMMAR,
    FloatFormat,
    Format,
    FormatNameError,
    IntFormat,
    get_format,
)
from hwsim.numerics.olive import OLIVE_GRAMMAR, OliveFormat, get_olive_format, is_olive

#: An element or a block format.
AnyFormat = Format | BlockFormat | OliveFormat

#: What :func:`resolve` accepts, for error messages.
GRAMMAR = (f"element formats {ELEMENT_GRAMMAR}; block formats {BLOCK_GRAMMAR}; "
           f"pair formats {OLIVE_GRAMMAR}")


def resolve(fmt: str | AnyFormat) -> AnyFormat:
    """The format ``fmt`` names, element or block; a format object passes through.

    >>> resolve("e3m4") == resolve("float8_e3m4"), resolve("e3m4").name
    (True, 'fp8_e3m4')
    >>> resolve("mxfp4_b32").name, type(resolve("mxfp4")).__name__
    ('mxfp4', 'BlockFormat')
    """
    if isinstance(fmt, FloatFormat | IntFormat | BlockFormat | OliveFormat):
        return fmt
    if not isinstance(fmt, str) or not fmt.strip():
        raise HwsimError(f"a number format must be a non-empty name, got {fmt!r}; "
                         f"allowed: {GRAMMAR}")
    key = fmt.strip().lower()
    if is_olive(key):
        return get_olive_format(key)
    try:
        return get_block_format(key) if key.startswith(BLOCK_PREFIXES) else get_format(key)
    except FormatNameError as exc:
        raise HwsimError(f"unknown number format {fmt!r} ({exc.why}); "
                         f"allowed: {GRAMMAR}") from None


def is_block(fmt: str | AnyFormat) -> bool:
    """Whether ``fmt`` is a block (shared-scale) format; unknown names raise HwsimError."""
    return isinstance(resolve(fmt), BlockFormat)


def bits_per_element(fmt: str | AnyFormat) -> float:
    """Storage bits per element of an element or block format (shared scales amortised)."""
    f = resolve(fmt)
    return f.bits_per_element if isinstance(f, BlockFormat) else float(f.total_bits)
