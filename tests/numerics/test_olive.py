"""OliVe outlier-victim pair formats against the authors' quantiser and the OVP invariants.

tests/data/olive/reference.npz holds the outputs of the authors' own ``Quantizer`` (github.com/
clevercool/ANT-Quantization, olive_quantization/antquant/quant_modules.py, commit bc84067) run
on CPU by sim_results/olive/dump_reference.py. The authors' grids are ours times
``32 / 2**(bits-1)`` (their threshold between normal values and outliers is 32).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hwsim.errors import HwsimError
from hwsim.numerics import bits_per_element, decode, encode, quantize, resolve
from hwsim.numerics.olive import (
    get_olive_format,
    olive_decode,
    olive_encode,
    olive_quantize,
    olive_scale,
    pe_operands,
)

REF = np.load(Path(__file__).parents[1] / "data" / "olive" / "reference.npz")
BITS = (4, 8)


def _unit(bits: int) -> np.float32:
    return np.float32(32 / 2 ** (bits - 1))


@pytest.mark.parametrize("bits", BITS)
def test_grid_equals_authors_codebook(bits):
    f = get_olive_format(f"olive{bits}")
    np.testing.assert_array_equal(f.grid()[0] * _unit(bits), REF[f"olive{bits}_grid"])


@pytest.mark.parametrize("bits", BITS)
@pytest.mark.parametrize("alpha", [1.0, 2.5, 6.0])
def test_bit_exact_with_authors_quantizer(bits, alpha):
    """Heavy-tailed data at three clipping values (2 % to 43 % outliers): every value equal."""
    f = get_olive_format(f"olive{bits}")
    u = _unit(bits)
    scale = np.float32(alpha) / np.float32(f.normal_max * u)
    xs = REF["x"] / scale  # float32, the authors' order of operations
    ours = (olive_quantize(xs / u, f) * u).astype(np.float32) * scale
    np.testing.assert_array_equal(ours, REF[f"olive{bits}_alpha{alpha}"])


@pytest.mark.parametrize("bits", BITS)
def test_ties_follow_authors_kernel(bits):
    """Every grid point and every midpoint between neighbours, in random pairs."""
    u = _unit(bits)
    ours = olive_quantize(REF[f"olive{bits}_ties_x"] / u, f"olive{bits}") * u
    np.testing.assert_array_equal(ours.astype(np.float32), REF[f"olive{bits}_ties"])


def _heavy(n: int = 1 << 14, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_t(1.5, size=(8, n // 8)) * 6


@pytest.mark.parametrize("bits", BITS)
def test_pairs_hold_at_most_one_outlier_and_victim_is_identifier(bits):
    f = get_olive_format(f"olive{bits}")
    x = _heavy() * (1 if bits == 4 else 40)
    q = olive_quantize(x, f)
    out = (np.abs(q) > f.normal_max).reshape(8, -1, 2)
    assert out.any(axis=-1).mean() > 0.05  # the data has outliers to prune
    assert not (out[..., 0] & out[..., 1]).any()
    codes = olive_encode(x, f).reshape(8, -1, 2)
    ident = codes == f.identifier
    # the identifier marks exactly the partner of each outlier, never a normal value
    np.testing.assert_array_equal(ident, out[..., ::-1])
    qp = q.reshape(8, -1, 2)
    assert (qp[ident] == 0).all()
    # an outlier's own code is never the identifier (magnitude code 0 is unused)
    assert ((codes[out] & (f.identifier - 1)) != 0).all()


@pytest.mark.parametrize("bits", BITS)
def test_representable_values_round_trip_exactly(bits):
    f = get_olive_format(f"olive{bits}")
    rng = np.random.default_rng(bits)
    normals = np.arange(-f.normal_max, f.normal_max + 1.0)
    outliers = np.concatenate([f.outlier_grid(), -f.outlier_grid()])
    nn = rng.choice(normals, size=(500, 2))
    on = np.stack([rng.choice(outliers, 500), np.zeros(500)], -1)
    no = on[:, ::-1]
    x = np.concatenate([nn, on, no]).reshape(-1)
    np.testing.assert_array_equal(olive_quantize(x, f), x)
    np.testing.assert_array_equal(olive_decode(olive_encode(x, f), f), x)
    np.testing.assert_array_equal(decode(encode(x, f"olive{bits}"), f"olive{bits}"), x)


@pytest.mark.parametrize("bits", BITS)
def test_every_written_pair_code_decodes_and_re_encodes(bits):
    """Over all 2**(2 bits) pair codes: the pairs the encoder can write are fixed points."""
    f = get_olive_format(f"olive{bits}")
    n = 1 << f.bits
    c = np.stack(np.meshgrid(np.arange(n), np.arange(n), indexing="ij"), -1).reshape(-1, 2)
    v = olive_decode(c.astype(np.uint8), f)
    ident = c == f.identifier
    nonzero_mag = (c & (f.identifier - 1)) != 0
    one_outlier = (ident[:, 0] & nonzero_mag[:, 1]) ^ (ident[:, 1] & nonzero_mag[:, 0])
    writable = ~ident.any(1) | (one_outlier & ~(ident[:, 0] & ident[:, 1]))
    written = olive_encode(v[writable], f)
    np.testing.assert_array_equal(written, c[writable])
    # the value set the decoder reaches is exactly the grid
    vals = np.unique(v[writable])
    np.testing.assert_array_equal(vals, f.grid()[0])


@pytest.mark.parametrize("bits", BITS)
def test_pe_operands_are_integer_and_shift(bits):
    f = get_olive_format(f"olive{bits}")
    n = 1 << f.bits
    c = np.stack(np.meshgrid(np.arange(n), np.arange(n), indexing="ij"), -1).reshape(-1)
    integer, shift = pe_operands(c, f)
    lim = 1 << (f.bits - 1)
    assert integer.min() >= -lim and integer.max() < lim  # fits the PE's bits-wide multiplier
    assert set(np.unique(shift)) <= {0, 2, 3, 4, 5}
    np.testing.assert_array_equal(integer * 2.0**shift, olive_decode(c, f))


def test_outlier_grids_match_the_papers_abfloat():
    """olive4 outliers: E2M1 with exponent bias such that 48/4 = 12 is the smallest."""
    np.testing.assert_array_equal(get_olive_format("olive4").outlier_grid(),
                                  [12, 16, 24, 32, 48, 64, 96])
    g8 = get_olive_format("olive8").outlier_grid()
    assert (g8[0], g8[-1], len(g8)) == (132, 2016, 127)


def test_registered_names():
    assert resolve("OLIVE4").name == "olive4"
    assert bits_per_element("olive8") == 8
    x = np.array([[1.0, 100.0, -3.0, 2.0]], np.float32)
    assert quantize(x, "olive4").dtype == np.float32
    np.testing.assert_array_equal(quantize(x, "olive4"), [[0, 96, -3, 2]])


def test_pair_axis_and_scale():
    x = _heavy(seed=5)
    np.testing.assert_array_equal(olive_quantize(x.T, "olive4", axis=0), olive_quantize(x).T)
    s = olive_scale(x, "olive4")
    s3 = olive_scale(x, "olive4", search=False)
    err = np.mean((olive_quantize(x / s) * s - x) ** 2)
    assert err <= np.mean((olive_quantize(x / s3) * s3 - x) ** 2)


@pytest.mark.parametrize("call", [
    lambda: quantize(np.ones(3), "olive4"),
    lambda: olive_quantize(np.ones((4, 5)), "olive8"),
    lambda: olive_encode(np.ones((3, 4)), "olive4", axis=0),
])
def test_odd_pair_axis_is_one_clear_error(call):
    with pytest.raises(HwsimError, match="even length"):
        call()


@pytest.mark.parametrize(("call", "match"), [
    (lambda: quantize([1.0, np.nan], "olive4"), "NaN"),
    (lambda: quantize([1.0, 2.0], "olive4", rounding="rtz"), "round to nearest"),
    (lambda: olive_quantize(np.ones(4), "olive4", axis=2), "out of range"),
    (lambda: olive_quantize(1.0, "olive4"), "scalar"),
    (lambda: olive_decode(np.array([16, 0]), "olive4"), "0..15"),
    (lambda: resolve("olive6"), "olive4, olive8"),
    (lambda: quantize(np.array(["a", "b"]), "olive4"), "dtype"),
])
def test_bad_input(call, match):
    with pytest.raises(HwsimError, match=match):
        call()


def test_cli_quantize_and_formats(capsys):
    import json

    from hwsim.cli import main

    assert main(["quantize", "-f", "olive4", "1", "20", "3", "4", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)["results"]
    assert [r["code"] for r in res] == ["0x8", "0x3", "0x3", "0x4"]  # victim, 24 = 0 11, 3, 4
    assert main(["formats", "olive8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["formats"][0]["identifier_code"] == 128


@pytest.mark.parametrize(("argv", "needle"), [
    (["quantize", "-f", "olive4", "1", "2", "3"], "even length"),
    (["quantize", "-f", "olive4", "--rounding", "rtz", "1", "2"], "rne"),
    (["formats", "olive5"], "olive4, olive8"),
])
def test_cli_bad_input_is_one_error_line(argv, needle, capsys):
    from hwsim.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and needle in err[0], err
