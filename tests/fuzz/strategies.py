"""Hypothesis strategies for command lines: valid values mixed with the ones users get wrong.

``opt(valid)`` draws a valid value, a boundary or hostile string (empty, 0, -1, huge, inf,
nan, a line break, a non-UTF-8 byte as Python decodes it, an option-looking token) or short
random text; ``ints`` and ``floats`` draw valid numbers as command-line text.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

HOSTILE: tuple[str, ...] = (
    "", " ", "0", "-1", "-0", "1", "2", "2147483648", "-2147483649", "9" * 30, "1e309",
    "inf", "-inf", "nan", "NaN", "1.5", "0x10", "x", "-", "--", "--json", "é", "\udce9", "\r",
    "a\nb", "none", "null", "a,b", ",", "1,2", "../x",
)
hostile = st.sampled_from(HOSTILE)
# no NUL: a command line cannot hold one (execve); surrogates stand for non-UTF-8 bytes
junk_text = st.text(st.characters(exclude_characters="\x00", exclude_categories=()), max_size=6)


def opt(valid: Sequence[str] | st.SearchStrategy[str] = ()) -> st.SearchStrategy[str]:
    """A value for an option: a valid one (when given), a hostile one or random text."""
    pools: list[st.SearchStrategy[str]] = [hostile, junk_text]
    if isinstance(valid, st.SearchStrategy):
        pools.insert(0, valid)
    elif valid:
        pools.insert(0, st.sampled_from(list(valid)))
    return st.one_of(*pools)


def ints(lo: int, hi: int) -> st.SearchStrategy[str]:
    """An integer in [lo, hi] as text."""
    return st.integers(lo, hi).map(str)


def floats(lo: float, hi: float) -> st.SearchStrategy[str]:
    """A finite number in [lo, hi] as text."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(repr)
