"""K-sort (Trukhanov & Soloveychik, arXiv 2403.20137): channel permutation of W_q and W_k."""

from __future__ import annotations

import numpy as np
import pytest

from hwsim.errors import HwsimError
from hwsim.numerics import bits_per_element, quantize_blocks, resolve
from hwsim.numerics.kv_sort import ksort, ksort_permutation


def _int_weights(rows, cols, seed):
    """Small integers as float64: every sum below is exact, so equality is exact."""
    rng = np.random.default_rng(seed)
    gains = rng.integers(1, 9, size=(rows, 1))
    return (rng.integers(-8, 9, size=(rows, cols)) * gains).astype(np.float64)


@pytest.mark.parametrize(("heads", "kv_heads", "rope"), [(4, 4, False), (4, 4, True),
                                                          (8, 2, False), (8, 2, True)])
def test_scores_unchanged_exactly(heads, kv_heads, rope):
    hd, d = 16, 24
    wq, wk = _int_weights(heads * hd, d, 1), _int_weights(kv_heads * hd, d, 2)
    x = np.random.default_rng(3).integers(-5, 6, size=(10, d)).astype(np.float64)
    wq2, wk2, perm = ksort(wq, wk, heads, kv_heads, rope=rope)
    group = heads // kv_heads

    def scores(a, b):
        q = (x @ a.T).reshape(10, heads, hd)
        k = (x @ b.T).reshape(10, kv_heads, hd)
        return np.stack([q[:, h] @ k[:, h // group].T for h in range(heads)])

    assert not np.array_equal(wk2, wk)  # something moved
    np.testing.assert_array_equal(scores(wq2, wk2), scores(wq, wk))
    assert sorted(perm) == list(range(kv_heads * hd))


def test_rows_sorted_by_norm_within_each_head():
    wk = _int_weights(3 * 8, 5, 4)
    perm = ksort_permutation(wk, 3)
    norms = np.linalg.norm(wk[perm], axis=1).reshape(3, 8)
    assert (np.diff(norms, axis=1) >= 0).all()
    assert (perm.reshape(3, 8) // 8 == np.arange(3)[:, None]).all()  # no row leaves its head


def test_rope_pairs_stay_half_a_head_apart():
    wk = _int_weights(2 * 8, 5, 5)
    perm = ksort_permutation(wk, 2, rope=True).reshape(2, 8)
    np.testing.assert_array_equal(perm[:, 4:] - perm[:, :4], 4)


def test_sort_groups_outlier_channels_so_bfp_error_per_channel_drops():
    """The mechanism: after sorting, small channels no longer share a block with an outlier."""
    rng = np.random.default_rng(0)
    g = rng.lognormal(0, 0.5, 128)
    g[rng.choice(128, 4, replace=False)] *= 8
    k = rng.standard_normal((512, 128)) * g
    ks = k[:, np.argsort(g)]

    def chan_err(a):
        return np.mean(np.sqrt(((quantize_blocks(a, "bfp12_b32") - a) ** 2).mean(0)
                               / (a**2).mean(0)))

    assert chan_err(ks) < 0.7 * chan_err(k)


def test_bfp12_bfp16_names():
    """4-bit / 8-bit sign-magnitude elements plus an 8-bit shared exponent per block."""
    assert resolve("bfp12").name == "bfp_b32_m3"
    assert resolve("bfp16_b64").name == "bfp_b64_m7"
    assert bits_per_element("bfp12_b32") == 4 + 8 / 32
    assert bits_per_element("bfp16_b128") == 8 + 8 / 128


@pytest.mark.parametrize(("call", "match"), [
    (lambda: ksort_permutation(np.ones((10, 4)), 3), "divide"),
    (lambda: ksort_permutation(np.ones((6, 4)), 2, rope=True), "even"),
    (lambda: ksort_permutation(np.ones(4), 1), "2-D"),
    (lambda: ksort(np.ones((8, 4)), np.ones((8, 4)), 4, kv_heads=3), "divide"),
    (lambda: ksort(np.ones((8, 5)), np.ones((8, 4)), 2), "W_q must be"),
    (lambda: resolve("bfp12_b0"), "block size"),
])
def test_bad_input(call, match):
    with pytest.raises(HwsimError, match=match):
        call()


@pytest.mark.parametrize(("kv", "bits"), [("fp16", 16), ("bfp16_b32", 8.25), ("bfp12_b64", 4.125)])
def test_decode_kv_cache_bytes_by_hand(kv, bits):
    """LLaMA-2-7B (32 layers, 32 KV heads of 128, Touvron et al. 2023) at kv_len 2048: K and V
    of every layer, at the KV format's bits per element."""
    from hwsim.studies.bfp_kv_ksort import kv_cache_bytes
    from workloads import Precision, build_workload

    g = build_workload("llama2-7b", phase="decode", kv_len=2048,
                       precision=Precision("t", "fp16", "fp16", "fp32", kv=kv))
    assert kv_cache_bytes(g) == 2 * 32 * 32 * 2048 * 128 * bits / 8
