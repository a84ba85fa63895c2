"""PDQ: our NumPy port gives the reference's bits.

The expected hashes below were computed by Meta's C++ PDQ code (``pdqHash256FromFloatLuma``
through the ``pdqhash`` 0.2.8 bindings) on the very arrays these tests build: a wrong
rounding, summation order or median anywhere flips bits. When ``pdqhash`` is installed,
random images are also compared with it directly.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

np = pytest.importorskip("numpy", reason="NumPy (the [pdq] extra, in [test]) is not installed")

from evidence_cli.formats import pdq  # noqa: E402


def noise(n: int, seed: int) -> bytes:
    """Deterministic bytes (SHA-256 blocks): the same on every machine and NumPy release."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}:{i}".encode()).digest()
        i += 1
    return bytes(out[:n])


def picture(height: int, width: int, seed: int) -> object:
    """Blocks of noise over a smooth gradient, with fine noise: structure at several scales."""
    blocks = np.frombuffer(noise((height // 16 + 1) * (width // 16 + 1) * 3, seed), dtype=np.uint8)
    blocks = blocks.reshape(height // 16 + 1, width // 16 + 1, 3)
    big = np.kron(blocks, np.ones((16, 16, 1), dtype=np.uint8))[:height, :width].astype(np.int32)
    yy, xx = np.mgrid[0:height, 0:width]
    grad = ((yy * 255) // max(height - 1, 1) + (xx * 127) // max(width - 1, 1))[..., None]
    fine = np.frombuffer(noise(height * width * 3, seed + 1), dtype=np.uint8).reshape(height, width, 3)
    fine = fine.astype(np.int32) % 32
    return np.ascontiguousarray(((big // 2 + grad // 2 + fine) % 256).astype(np.uint8))


#: (height, width, seed) -> (hash, quality) by the reference C++ code.
REFERENCE = {
    (64, 64, 1): ("bd1ce2b21d1be2d65f6aa939c6f42d2cc3997a72119bde76208cd931e4e40b0a", 100),
    (300, 200, 2): ("711db6c60e35172a5725559ef028d4d62bc54d52aaef6927942ee8cb0bd7960a", 100),
    (37, 1000, 3): ("4aa7990a95064ab5a4ca1bb59d4a62b564cacded3b25935a66a4e5491ab79faa", 100),
    (5, 7, 4): ("b4da4ad54b25952a6a75952a6ad56ad5952a6ad5b4da4ad54b25952a6ad5952a", 55),
    (480, 640, 5): ("3845429735755e88a95169db58a6b58faafa1117a76b1155cee5b038f573905a", 100),
}


@pytest.mark.parametrize("shape", sorted(REFERENCE))
def test_bits_and_quality_are_the_references(shape: tuple[int, int, int]) -> None:
    # 64 x 64 takes the reference's short path (no filter); 5 x 7 the smallest it hashes;
    # 37 x 1000 unequal windows along rows and columns.
    assert pdq.pdq_from_rgb(picture(*shape)) == REFERENCE[shape]


def test_a_flat_picture_keeps_the_references_rounding() -> None:
    # Every sample equal: the coefficients are rounding noise, and so are the bits; only
    # the reference's exact order of operations gives these.
    flat = np.full((50, 80, 3), 77, dtype=np.uint8)
    assert pdq.pdq_from_rgb(flat) == ("00002c4b2c4b0000000000008200017e0000cc530000554b13a0554b585e1706", 0)


def test_below_five_pixels_the_hash_is_zero_with_quality_zero() -> None:
    assert pdq.pdq_from_rgb(picture(4, 40, 9)) == ("0" * 64, 0)
    assert pdq.pdq_from_rgb(picture(40, 4, 9)) == ("0" * 64, 0)


def test_grey_as_rgb_is_its_own_luma() -> None:
    grey = np.frombuffer(noise(90 * 70, 3), dtype=np.uint8).reshape(90, 70)
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    lum = pdq.luma(rgb)
    assert lum.dtype == np.float32 and lum.shape == (90, 70)
    assert np.max(np.abs(lum - grey)) < 1e-3


def test_luma_in_bands_is_luma_at_once() -> None:
    img = picture(130, 50, 7)
    assert np.array_equal(pdq.luma(img, rows_at_once=7), pdq.luma(img, rows_at_once=1000))


def test_a_copy_is_near_and_another_picture_is_far() -> None:
    a = picture(240, 320, 11)
    brighter = np.clip(a.astype(np.int32) + 12, 0, 255).astype(np.uint8)
    other = picture(240, 320, 12)
    ha, hb, hc = pdq.pdq_from_rgb(a)[0], pdq.pdq_from_rgb(brighter)[0], pdq.pdq_from_rgb(other)[0]
    assert pdq.hamming(ha, hb) <= 31 < pdq.hamming(ha, hc)


def test_torben_median_is_the_lower_middle_value_of_distinct_values() -> None:
    values = np.arange(256, dtype=np.float32)[::-1].copy()
    assert float(pdq.torben_median(values)) == 127.0


def test_quality_is_capped_at_100_and_zero_when_flat() -> None:
    assert pdq.quality(np.zeros((64, 64), dtype=np.float32)) == 0
    checker = (np.indices((64, 64)).sum(axis=0) % 2 * 255).astype(np.float32)
    assert pdq.quality(checker) == 100


def test_hamming() -> None:
    assert pdq.hamming("0" * 64, "f" * 64) == 256
    assert pdq.hamming("0" * 63 + "3", "0" * 64) == 2


def test_numpy_missing_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real = builtins.__import__

    def no_numpy(name: str, *args: object, **kwargs: object) -> object:
        if name == "numpy":
            raise ImportError("no numpy here")
        return real(name, *args, **kwargs)  # type: ignore[arg-type]

    assert pdq.numpy_missing() is None
    monkeypatch.setattr(builtins, "__import__", no_numpy)
    assert "pip install 'evidence-cli[pdq]'" in (pdq.numpy_missing() or "")


def test_random_pictures_against_the_reference_bindings() -> None:
    pdqhash = pytest.importorskip("pdqhash", reason="pdqhash (Meta C++ PDQ) not installed: golden values only")
    for seed in range(40):
        h = 5 + (seed * 37) % 700
        w = 5 + (seed * 91) % 900
        img = picture(h, w, 100 + seed)
        bits, quality = pdqhash.compute(img)
        want = format(int("".join(str(int(b)) for b in bits), 2), "064x")
        assert pdq.pdq_from_rgb(img) == (want, quality), (h, w)


#: pdqhash.compute_dihedral (Meta's C++ pdqDihedralHash256esFromFloatLuma) of picture(300, 200, 2),
#: in its order: Original, Rotate90, Rotate180, Rotate270, FlipX, FlipY, FlipPlus1, FlipMinus1.
REFERENCE_TURNED = {
    "none": "711db6c60e35172a5725559ef028d4d62bc54d52aaef6927942ee8cb0bd7960a",
    "rotate90ccw": "432d70abcab420f620f682b678a3632d45a6be1d3a38dabd962d1265557f5749",
    "rotate180": "24481c6c5b60bf800270ff34857d7e7c7e90e7f8ffbacb8dc17b42215e823ca0",
    "rotate90cw": "1678da0195e18a5c75b3281c3df6c98710f314b76f6d7017c378b8cf002afde3",
    "mirror_top_bottom": "710d49390e35ead55725aa61d0282b292bc5b2adaaeb9ed8942e17740bd769f5",
    "mirror_left_right": "2458e3935b60427f227000cba57d81837e901807ffbe3c72c17bbdde5e82c35f",
    "transpose": "432d8f54c2b4df0920f67d4978a39cd245a641e63a38a542962dedba557fa8b6",
    "transverse": "167825fe95e175a375b3d7e33df6367810f3eb486f6d0fe8c3784710002a021c",
}


def test_turned_hashes_are_the_references() -> None:
    assert pdq.dihedral_from_rgb(picture(300, 200, 2)) == (REFERENCE_TURNED, 100)


@pytest.mark.parametrize(
    ("name", "turn"),
    [
        ("rotate90ccw", lambda a: np.rot90(a, 1)),
        ("rotate90cw", lambda a: np.rot90(a, -1)),
        ("rotate180", lambda a: np.rot90(a, 2)),
        ("mirror_left_right", lambda a: a[:, ::-1]),
        ("mirror_top_bottom", lambda a: a[::-1]),
        ("transpose", lambda a: a.transpose(1, 0, 2)),
        ("transverse", lambda a: np.rot90(a, 2).transpose(1, 0, 2)),
    ],
)
def test_each_turned_hash_is_the_picture_turned_so(name: str, turn: Any) -> None:
    # A smooth picture, as photos are: turning its pixels and hashing them lands within a
    # few bits of the turned hash, and far from the others.
    yy, xx = np.mgrid[0:256, 0:320].astype(float)
    channels = [
        128 + 100 * np.sin(xx / 40) * np.cos(yy / 55),
        128 + 100 * np.cos((xx + 2 * yy) / 70),
        128 + 90 * np.sin(xx / 23 + yy / 37),
    ]
    smooth = np.stack(channels, axis=2).round().astype(np.uint8)
    turned, _ = pdq.dihedral_from_rgb(smooth)
    actual = pdq.pdq_from_rgb(np.ascontiguousarray(turn(smooth)))[0]
    distances = {n: pdq.hamming(actual, h) for n, h in turned.items()}
    assert distances[name] <= 16 and min(d for n, d in distances.items() if n != name) >= 48


def test_inverse_turns() -> None:
    assert pdq.INVERSE["rotate90ccw"] == "rotate90cw" and pdq.INVERSE["rotate90cw"] == "rotate90ccw"
    assert all(pdq.INVERSE[n] == n for n in pdq.DIHEDRAL if not n.startswith("rotate90"))
