"""erf / erfc in chainrule.ops.special against math.erf / math.erfc and correctly rounded values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chainrule.ops.special import erf, erfc

# Boundaries of the approximation ranges (and erfc's 1/4 switch); both sides are tested.
EDGES = (0.25, 0.84375, 1.25, 1 / 0.35, 6.0, 27.0, 28.0)

# (x, erf(x), erfc(x)) correctly rounded to float64 (mpmath at 200 bits).
EXACT = [
    (1e-300, 1.1283791670955126e-300, 1.0),
    (1e-20, 1.1283791670955125e-20, 1.0),
    (0.1, 0.1124629160182849, 0.887537083981715),
    (0.5, 0.5204998778130465, 0.4795001221869535),
    (1.0, 0.8427007929497149, 0.15729920705028513),
    (2.0, 0.9953222650189527, 0.004677734981047266),
    (3.0, 0.9999779095030014, 2.209049699858544e-05),
    (5.0, 0.9999999999984626, 1.537459794428035e-12),
    (10.0, 1.0, 2.088487583762545e-45),
    (15.0, 1.0, 7.212994172451207e-100),
    (20.0, 1.0, 5.395865611607901e-176),
    (26.0, 1.0, 5.663192408856143e-296),
]


def _grid() -> np.ndarray:
    dense = np.linspace(-30.0, 30.0, 200_001)
    tiny = np.geomspace(5e-324, 1.0, 2_000)
    edges = np.array(EDGES)
    around = np.concatenate([np.nextafter(edges, 0.0), edges, np.nextafter(edges, np.inf)])
    values = np.concatenate([dense, tiny, around])
    return np.unique(np.concatenate([values, -values]))


GRID = _grid()


def _libm(fn, x: np.ndarray) -> np.ndarray:
    return np.array([fn(v) for v in x.tolist()], dtype=np.float64)


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    return {"erf": _libm(math.erf, GRID), "erfc": _libm(math.erfc, GRID)}


def ulps(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """|got - ref| in units of the spacing of the reference's own dtype at ref."""
    spacing = np.spacing(np.abs(ref)).astype(np.float64)
    return np.abs(got.astype(np.float64) - ref.astype(np.float64)) / spacing


def test_erf_float64_matches_libm(reference: dict[str, np.ndarray]) -> None:
    got, ref = erf(GRID), reference["erf"]
    assert got.dtype == np.float64
    assert ulps(got, ref).max() <= 2.0
    normal = np.abs(ref) >= np.finfo(np.float64).tiny  # subnormals: covered by the ulp bound
    assert (np.abs(got - ref)[normal] / np.abs(ref[normal])).max() <= 4e-16


def test_erfc_float64_matches_libm(reference: dict[str, np.ndarray]) -> None:
    # fdlibm's erfc (two exps, a product and a division) is good to ~3 ulp; libm has its own
    # error of up to ~2 ulp, so the two may differ by a few ulp, also in the subnormal tail.
    got, ref = erfc(GRID), reference["erfc"]
    assert got.dtype == np.float64
    assert ulps(got, ref).max() <= 6.0
    normal = ref > 1e-300
    assert (np.abs(got - ref)[normal] / ref[normal]).max() <= 2e-15
    assert np.all(got[GRID > 27.3] == 0.0)


@pytest.mark.parametrize(("x", "erf_x", "erfc_x"), EXACT)
def test_correctly_rounded_values(x: float, erf_x: float, erfc_x: float) -> None:
    for sign in (1.0, -1.0):
        v = np.array([sign * x])
        assert ulps(erf(v), np.array([sign * erf_x]))[0] <= 1.0
    assert ulps(erfc(np.array([x])), np.array([erfc_x]))[0] <= 3.0
    assert ulps(erfc(np.array([-x])), np.array([2.0 - erfc_x]))[0] <= 1.0


def test_tiny_arguments() -> None:
    x = np.geomspace(1e-300, 1e-9, 200)
    np.testing.assert_allclose(erf(x), 2.0 / math.sqrt(math.pi) * x, rtol=4e-16, atol=0)
    np.testing.assert_allclose(erfc(x), 1.0 - 2.0 / math.sqrt(math.pi) * x, rtol=2.3e-16, atol=0)
    np.testing.assert_array_equal(erfc(x[x < 2.0**-56]), 1.0)
    np.testing.assert_array_equal(erf(np.array([5e-324, -5e-324])), [5e-324, -5e-324])


def test_special_values() -> None:
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e308, -1e308])
    with np.errstate(all="raise"):
        e, c = erf(x), erfc(x)
    np.testing.assert_array_equal(e, [0.0, -0.0, 1.0, -1.0, np.nan, 1.0, -1.0])
    np.testing.assert_array_equal(c, [1.0, 1.0, 0.0, 2.0, np.nan, 0.0, 2.0])
    assert not np.signbit(e[0]) and np.signbit(e[1])
    for dtype in (np.float32, np.float16):
        x = np.array([-0.0, np.inf, -np.inf, np.nan], dtype=dtype)
        np.testing.assert_array_equal(erf(x), np.array([-0.0, 1.0, -1.0, np.nan], dtype=dtype))
        np.testing.assert_array_equal(erfc(x), np.array([1.0, 0.0, 2.0, np.nan], dtype=dtype))
        assert np.signbit(erf(x)[0])


def test_no_floating_point_warnings() -> None:
    with np.errstate(all="raise"):
        erf(GRID)
        erfc(GRID)


@pytest.mark.parametrize("name", ["erf", "erfc"])
def test_float32_within_one_ulp(name: str) -> None:
    fn, ref_fn = {"erf": (erf, math.erf), "erfc": (erfc, math.erfc)}[name]
    x = np.unique(GRID[::4].astype(np.float32))
    got = fn(x)
    assert got.dtype == np.float32
    ref = _libm(ref_fn, x.astype(np.float64)).astype(np.float32)
    assert ulps(got, ref).max() <= 1.0
    if name == "erfc":
        assert np.all(got[x > 10.5] == 0) and np.all(got[(x > 0) & (x < 9.0)] > 0)


def test_dtypes_and_shapes() -> None:
    for dtype in (np.float16, np.float32, np.float64):
        x = np.linspace(-3, 3, 12, dtype=dtype).reshape(3, 4)
        for fn in (erf, erfc):
            assert fn(x).dtype == dtype and fn(x).shape == (3, 4)
    assert erf(np.arange(-2, 3)).dtype == np.float64
    np.testing.assert_array_equal(erf(np.arange(-2, 3)), erf(np.arange(-2.0, 3.0)))
    scalar = erfc(np.float64(0.5))
    assert isinstance(scalar, np.ndarray) and scalar.shape == ()
    assert erf(np.zeros((0, 3))).shape == (0, 3)
    m = np.linspace(-4, 4, 60).reshape(6, 10)
    np.testing.assert_array_equal(erf(m.T), erf(m).T)
    np.testing.assert_array_equal(erfc(m[:, ::3]), erfc(m)[:, ::3])
    big = np.linspace(-6, 6, 300_001)  # more than one internal block
    np.testing.assert_array_equal(erf(big)[::1000], erf(big[::1000]))


def test_identities() -> None:
    x = GRID
    np.testing.assert_array_equal(erf(-x), -erf(x))
    np.testing.assert_allclose(erfc(-x), 2.0 - erfc(x), rtol=0, atol=4.5e-16)  # ulp(2) = 4.4e-16
    moderate = x[np.abs(x) <= 3.0]
    assert np.abs(erf(moderate) + erfc(moderate) - 1.0).max() <= 4e-16
