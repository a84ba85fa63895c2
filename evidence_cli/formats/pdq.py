"""PDQ, the perceptual hash of images that platforms and hash-sharing programmes exchange.

Meta's PDQ (2019) turns an image into 256 bits such that a re-encoded, resized or lightly
edited copy gets a hash a few bits away (a Hamming distance of 31 or less is the usual
"same image" threshold), and a quality figure from 0 to 100 (below 50 the hash is too
weak to match on). Programmes against non-consensual intimate imagery and child sexual
abuse material share PDQ hashes, never the pictures.

This is the reference algorithm (``pdqHash256FromFloatLuma`` of Meta's C++ code, the core
of the ``pdqhash`` Python bindings and of ThreatExchange's ``pdq_from_file``), written
again in NumPy with every floating-point operation in the reference's order and
precision, so that the same pixels give the same bits:

1. luma: ``0.299 R + 0.587 G + 0.114 B`` in double precision, stored as single (as the
   Python bindings compute it);
2. two passes of a Jarosz box filter along rows then columns, with windows of
   ``ceil(dimension / 128)`` (the C++ running sums, single precision);
3. 64 x 64 samples at the centre of each cell; the quality from their gradients;
4. a 16 x 16 DCT (no DC terms) of those samples, each bit set when its coefficient is
   above the median (Torben's median, as the reference picks it).

The hexadecimal form is the reference's: bit 255 first.
"""

from __future__ import annotations

import math
from typing import Any

#: Smallest width or height the reference hashes; below it the hash is all zeros, quality 0.
MIN_DIMENSION = 5


def numpy_missing(who: str = "--pdq") -> str | None:
    """None when NumPy can be imported; else what ``who`` needs installed."""
    try:
        import numpy  # noqa: F401
    except ImportError:
        return f"{who} needs NumPy: pip install 'evidence-cli[pdq]'"
    return None


def _np() -> Any:
    import numpy

    return numpy


def _dct_matrix() -> Any:
    """16 x 64 DCT-II rows 1..16 (the DC row left out), as the reference fills its table:
    its scale factor stored as single precision, each entry computed in double precision
    and stored as single."""
    np = _np()
    scale = float(np.float32(math.sqrt(2.0 / 64)))
    rows = [[scale * math.cos((math.pi / 2.0 / 64) * (i + 1) * (2 * j + 1)) for j in range(64)] for i in range(16)]
    return np.array(rows, dtype=np.float32)


def luma(rgb: Any, rows_at_once: int = 64) -> Any:
    """Single-precision luma of an H x W x 3 array of 8-bit RGB: ``R * 0.299 + G * 0.587 +
    B * 0.114`` in double precision, in that order, then rounded to single. A band of rows
    at a time, in two buffers made once (the double-precision intermediate of a whole
    100-megapixel photo would take 2.4 GB, and fresh temporaries for every band fault in
    their memory again)."""
    np = _np()
    height, width = rgb.shape[:2]
    out = np.empty((height, width), dtype=np.float32)
    total = np.empty((rows_at_once, width), dtype=np.float64)
    term = np.empty((rows_at_once, width), dtype=np.float64)
    for top in range(0, height, rows_at_once):
        band = rgb[top : top + rows_at_once]
        n = band.shape[0]
        t, u = total[:n], term[:n]
        np.multiply(band[:, :, 0], 0.299, out=t)
        np.multiply(band[:, :, 1], 0.587, out=u)
        np.add(t, u, out=t)
        np.multiply(band[:, :, 2], 0.114, out=u)
        np.add(t, u, out=t)
        out[top : top + n] = t
    return out


def _window(dimension: int) -> int:
    return (dimension + 2 * 64 - 1) // (2 * 64)


def _box_rows(src: Any, dst: Any, window: int) -> None:
    """The reference's one-dimensional box filter along the first axis of ``src`` into
    ``dst``, applied to every column at once: its running sum, its window that grows at
    the start and shrinks at the end, single precision throughout."""
    np = _np()
    length = src.shape[0]
    half = (window + 2) // 2
    grow = window - half + 1  # outputs while the window fills
    steady = length - window  # outputs with a full window
    total = np.zeros(src.shape[1:], dtype=np.float32)
    size = 0
    for entering in src[:window]:  # the window fills: its first outputs once it is half full
        total += entering
        size += 1
        if size >= half:
            np.divide(total, np.float32(size), out=dst[size - half])
    # The steady part, nearly every step: row views taken by iterators, the divisor made once.
    size_f = np.float32(size)
    add, subtract, divide = np.add, np.subtract, np.divide
    for entering, leaving, out in zip(src[window:], src[:steady], dst[grow : grow + steady]):
        add(total, entering, out=total)
        subtract(total, leaving, out=total)
        divide(total, size_f, out=out)
    for leaving, out in zip(src[steady:], dst[grow + steady :]):  # the window empties
        total -= leaving
        size -= 1
        np.divide(total, np.float32(size), out=out)


#: Side of the tiles a transpose copies at a time: a tile's rows and columns both stay in
#: the cache (a 10,000 x 10,000 plane: 0.18 s, against 0.67 s for one NumPy copy of ``.T``).
TILE = 512


def _transpose_into(a: Any, out: Any) -> Any:
    """The transpose of a 2-D array copied into ``out`` (contiguous, of the transposed
    shape), tile by tile; returns ``out``."""
    rows, cols = a.shape
    for i in range(0, rows, TILE):
        for j in range(0, cols, TILE):
            out[j : j + TILE, i : i + TILE] = a[i : i + TILE, j : j + TILE].T
    return out


def _jarosz(lum: Any) -> Any:
    """Two passes of the box filter along each row, then each column; returns the filtered
    image (the reference's ``jaroszFilterFloat`` with two passes).

    The running sums advance along the first axis, a whole row of memory at each step, so
    filtering along the image's rows works on its transpose. Two buffers the size of the
    image serve every step, each viewed in the shape the step needs: no new memory to
    fault in for each step of a 100-megapixel photo."""
    np = _np()
    height, width = lum.shape
    along_rows, along_cols = _window(width), _window(height)
    first = np.empty(height * width, dtype=np.float32)
    second = np.empty(height * width, dtype=np.float32)
    across = _transpose_into(lum, first.reshape(width, height))
    for rep in range(2):
        _box_rows(across, second.reshape(width, height), along_rows)  # along the image's rows
        image = _transpose_into(second.reshape(width, height), first.reshape(height, width))
        down = second.reshape(height, width)
        _box_rows(image, down, along_cols)  # along the image's columns
        if rep == 0:
            across = _transpose_into(down, first.reshape(width, height))
    return down


def _decimate(img: Any) -> Any:
    """64 x 64 samples, one at the centre of each cell (integer truncation, as the reference)."""
    np = _np()
    height, width = img.shape
    rows = [int(((i + 0.5) * height) / 64) for i in range(64)]
    cols = [int(((j + 0.5) * width) / 64) for j in range(64)]
    return np.ascontiguousarray(img[np.ix_(rows, cols)], dtype=np.float32)


def quality(block: Any) -> int:
    """The reference's quality figure of the 64 x 64 samples: the sum of the neighbours'
    differences, each scaled by 100/255 in single precision and truncated, over 90, at most 100."""
    np = _np()
    down = ((block[:-1, :] - block[1:, :]) * np.float32(100)) / np.float32(255)
    across = ((block[:, :-1] - block[:, 1:]) * np.float32(100)) / np.float32(255)
    total = int(np.abs(np.trunc(down)).astype(np.int64).sum()) + int(np.abs(np.trunc(across)).astype(np.int64).sum())
    return min(total // 90, 100)


def _dct16(block: Any) -> Any:
    """D A D^T for the 16 x 64 DCT rows D, each sum accumulated in the reference's order."""
    np = _np()
    d = _dct_matrix()
    t = np.zeros((16, 64), dtype=np.float32)
    for k in range(64):  # T[i][j] = sum over k of D[i][k] * A[k][j], k ascending
        t += d[:, k : k + 1] * block[k : k + 1, :]
    out = np.zeros((16, 16), dtype=np.float32)
    for k in range(64):  # B[i][j] = sum over k of T[i][k] * D[j][k], k ascending
        out += t[:, k : k + 1] * d[:, k][None, :]
    return out


def torben_median(values: Any) -> Any:
    """The median the reference thresholds at (Torben's method; for 256 values, the lower
    middle one unless the bisection stops on a guess between them)."""
    np = _np()
    m = values.ravel()
    n = m.size
    lo, hi = m.min(), m.max()
    half = (n + 1) // 2
    while True:
        guess = np.float32((lo + hi) / np.float32(2))
        less_mask, more_mask = m < guess, m > guess
        less, greater = int(less_mask.sum()), int(more_mask.sum())
        equal = n - less - greater
        max_below = m[less_mask].max() if less else lo
        min_above = m[more_mask].min() if greater else hi
        max_below = max(max_below, lo)
        min_above = min(min_above, hi)
        if less <= half and greater <= half:
            break
        if less > greater:
            hi = max_below
        else:
            lo = min_above
    if less >= half:
        return max_below
    if less + equal >= half:
        return guess
    return min_above


#: The picture and its seven rotations and mirror images, each computed as the reference
#: does (its name there in the comment) from the original's DCT coefficients: (transpose?,
#: which coefficients keep their sign, by row i and column j; the others change sign).
#: A picture turned or mirrored that way hashes within a few bits of it.
DIHEDRAL: dict[str, tuple[bool, Any]] = {
    "none": (False, lambda i, j: True),  # Original
    "rotate90ccw": (True, lambda i, j: j % 2 == 1),  # Rotate90
    "rotate180": (False, lambda i, j: (i + j) % 2 == 0),  # Rotate180
    "rotate90cw": (True, lambda i, j: i % 2 == 1),  # Rotate270
    "mirror_top_bottom": (False, lambda i, j: i % 2 == 1),  # FlipX
    "mirror_left_right": (False, lambda i, j: j % 2 == 1),  # FlipY
    "transpose": (True, lambda i, j: True),  # FlipPlus1: mirrored on the main diagonal
    "transverse": (True, lambda i, j: (i + j) % 2 == 0),  # FlipMinus1: on the other diagonal
}
#: The turn that undoes each one.
INVERSE = {**{name: name for name in DIHEDRAL}, "rotate90ccw": "rotate90cw", "rotate90cw": "rotate90ccw"}


def _bits(coefficients: Any) -> str:
    """The hash of 16 x 16 coefficients: bit 16 i + j set when above their median."""
    np = _np()
    median = torben_median(coefficients)
    value = 0
    for k in np.flatnonzero((coefficients > median).ravel()).tolist():
        value |= 1 << k
    return format(value, "064x")


def _coefficients(lum: Any) -> tuple[Any, int] | None:
    """(16 x 16 DCT coefficients, quality) of a luma image; None when too small to hash."""
    np = _np()
    height, width = lum.shape
    if height < MIN_DIMENSION or width < MIN_DIMENSION:
        return None
    if height == 64 and width == 64:
        block = np.ascontiguousarray(lum, dtype=np.float32)
    else:
        block = _decimate(_jarosz(lum))
    return _dct16(block), quality(block)


def pdq_from_luma(lum: Any) -> tuple[str, int]:
    """(64 hexadecimal digits, quality) of a single-precision luma image (rows x columns)."""
    found = _coefficients(lum)
    if found is None:
        return "0" * 64, 0
    return _bits(found[0]), found[1]


def pdq_from_rgb(rgb: Any) -> tuple[str, int]:
    """(64 hexadecimal digits, quality) of an H x W x 3 array of 8-bit RGB."""
    return pdq_from_luma(luma(rgb))


def dihedral_from_rgb(rgb: Any) -> tuple[dict[str, str], int]:
    """The hashes of the picture and of its rotations and mirror images (see DIHEDRAL), as
    the reference's ``pdqDihedralHash256esFromFloatLuma`` gives them, and the quality."""
    np = _np()
    found = _coefficients(luma(rgb))
    if found is None:
        return {name: "0" * 64 for name in DIHEDRAL}, 0
    a, q = found
    i, j = np.indices((16, 16))
    out = {}
    for name, (transpose, keep) in DIHEDRAL.items():
        signed = np.where(keep(i, j), a, -a)
        out[name] = _bits(signed.T if transpose else signed)
    return out, q


def hamming(a: str, b: str) -> int:
    """Bits that differ between two PDQ hashes in hexadecimal."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
