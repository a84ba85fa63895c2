"""`evidence similar`: groups of images showing one picture, by PDQ.

The grouping is checked against every pair compared by brute force, on hashes drawn in
clusters; the command on real scans of copies: resized and re-encoded, mirrored, and a
hash from a --known list."""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

np = pytest.importorskip("numpy", reason="NumPy (the [pdq] extra, in [test]) is not installed")

from PIL import Image  # noqa: E402

from evidence_cli.cli import cli  # noqa: E402
from evidence_cli.similar import (  # noqa: E402
    KNOWN_MAX_LINE,
    KnownListError,
    Member,
    Tally,
    closest,
    groups,
    pdq_of,
    read_known,
    scan_members,
)
from tests.extractors.test_archive import zip_of  # noqa: E402
from tests.extractors.test_pdq import encoded  # noqa: E402
from tests.formats.test_pdq import picture  # noqa: E402


def run(*args: Any) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], terminal_width=100, prog_name="evidence")


def clusters(rng: random.Random, n: int, spread: int) -> list[int]:
    """Hashes around n // 4 centres, each within ``spread`` random bit flips of its centre."""
    centres = [rng.getrandbits(256) for _ in range(max(n // 4, 1))]
    out = []
    for _ in range(n):
        h = rng.choice(centres)
        for _ in range(rng.randint(0, spread)):
            h ^= 1 << rng.randrange(256)
        out.append(h)
    return out


def brute_force(hashes: list[int], distance: int) -> list[list[int]]:
    parent = list(range(len(hashes)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for a, b in itertools.combinations(range(len(hashes)), 2):
        if (hashes[a] ^ hashes[b]).bit_count() <= distance:
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    found: dict[int, list[int]] = {}
    for i in range(len(hashes)):
        found.setdefault(root(i), []).append(i)
    return sorted(g for g in found.values() if len(g) > 1)


@pytest.mark.parametrize(("distance", "spread"), [(0, 1), (15, 12), (31, 24), (31, 40), (63, 48)])
def test_groups_are_those_of_every_pair_compared(distance: int, spread: int) -> None:
    rng = random.Random(distance * 100 + spread)
    hashes = clusters(rng, 240, spread)
    hashes += hashes[:5]  # the same hash twice: one node
    members = [Member(pdq=h, quality=100, path=f"f{i}", order=i) for i, h in enumerate(hashes)]
    tally = Tally()
    found = groups(members, distance, tally)
    got = sorted(sorted(int(m.path[1:]) for m, _, _ in g) for g in found)  # type: ignore[index]
    assert got == brute_force(hashes, distance)
    assert tally.compared_pairs < len(hashes) * (len(hashes) - 1)  # not every pair with every other
    for g in found:
        first = g[0][0]
        assert [m.order for m, _, _ in g] == sorted(m.order for m, _, _ in g)
        assert all(bits == (m.pdq ^ first.pdq).bit_count() and turn == "none" for m, bits, turn in g)


def test_a_turned_copy_is_linked_by_its_turned_hash_and_named() -> None:
    rng = random.Random(7)
    a, mirrored, far = rng.getrandbits(256), rng.getrandbits(256), rng.getrandbits(256)
    original = Member(pdq=a, quality=90, turned=(("mirror_left_right", mirrored ^ 0b111),), path="a", order=0)
    copy = Member(pdq=mirrored, quality=90, path="b", order=1)
    other = Member(pdq=far, quality=90, path="c", order=2)
    assert closest(original, copy) == (3, "mirror_left_right")
    assert closest(copy, original) == (3, "mirror_left_right")  # (its own inverse)
    turned = Member(pdq=a, quality=90, turned=(("rotate90ccw", mirrored),), path="a", order=0)
    assert closest(copy, turned) == (0, "rotate90cw")  # the turn that undoes it
    found = groups([original, copy, other], 31, Tally())
    assert [[(m.path, bits, turn) for m, bits, turn in g] for g in found] == [
        [("a", 0, "none"), ("b", 3, "mirror_left_right")]
    ]


def test_distance_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        groups([], 64, Tally())


def test_known_list_lines() -> None:
    h1, h2 = "ab" * 32, "0f" * 32
    text = f"\ufeff# reported by the platform\n\n{h1},case 12 upload\n{h2.upper()}\t80\n{h1}\n"
    known = read_known(io.BytesIO(text.encode()), first_order=1000)
    assert [(format(m.pdq, "064x"), m.known, m.order, m.path) for m in known] == [
        (h1, "case 12 upload", 1000, None),
        (h2, "80", 1001, None),
        (h1, "line 5", 1002, None),
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (b"abc\n", "line 1 does not start with a PDQ hash"),
        (b"# fine\n" + b"a" * 65 + b"\n", "line 2 does not start with a PDQ hash"),
        (b"a" * 64 + b"x label\n", "line 1 does not start with a PDQ hash"),
        (b"\xff\xfe" + b"a" * 64 + b"\n", "line 1 is not UTF-8 text"),
        (b"a" * 64 + b"," + b"x" * KNOWN_MAX_LINE + b"\n", f"line 1 is longer than {KNOWN_MAX_LINE} bytes"),
    ],
)
def test_known_list_that_is_not_one_is_refused(text: bytes, says: str) -> None:
    with pytest.raises(KnownListError, match=says):
        read_known(io.BytesIO(text), first_order=0)


@pytest.mark.parametrize(
    "pdq",
    [
        "not an object",
        {"hash": "AB" * 32, "quality": 90},
        {"hash": "ab" * 32, "quality": True},
        {"hash": "ab" * 32, "quality": 101},
        {"hash": "ab" * 32, "quality": 90, "turned": {"sideways": "ab" * 32}},
        {"hash": "ab" * 32, "quality": 90, "turned": {"rotate180": "=cmd"}},
    ],
)
def test_a_forged_pdq_group_is_refused(pdq: Any) -> None:
    with pytest.raises(ValueError):
        pdq_of({"metadata": {"pdq": pdq}})


def save(path: Path, array: Any, fmt: str, **kw: Any) -> None:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, fmt, **kw)
    path.write_bytes(buf.getvalue())


@pytest.fixture
def scanned(tmp_path: Path) -> tuple[Path, Path]:
    """A case folder scanned with --pdq: a photo, a resized JPEG copy, a mirrored copy,
    another picture, a flat grey picture (quality 0) and a text file."""
    folder = tmp_path / "case"
    folder.mkdir()
    photo = picture(360, 480, 31)
    save(folder / "a_original.png", photo, "PNG")
    smaller = np.asarray(Image.fromarray(photo).resize((320, 240), Image.BILINEAR))
    save(folder / "b_resent.jpg", smaller, "JPEG", quality=75)
    save(folder / "=c_mirrored.png", np.ascontiguousarray(photo[:, ::-1]), "PNG")
    save(folder / "d_other.png", picture(360, 480, 32), "PNG")
    save(folder / "e_flat.png", np.full((100, 100, 3), 128, dtype=np.uint8), "PNG")
    (folder / "f_notes.txt").write_text("chat log\n")
    manifest = tmp_path / "case.json"
    done = run("scan", folder, "--pdq", "--workers", "0", "--json", manifest)
    assert done.exit_code == 0, done.output
    return folder, manifest


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8", newline="")))


def test_similar_groups_copies_with_their_turns(scanned: tuple[Path, Path], tmp_path: Path) -> None:
    _, manifest = scanned
    out = tmp_path / "similar.csv"
    done = run("similar", manifest, "-o", out)
    assert done.exit_code == 0, done.output
    got = rows(out)
    # (The CSV neutralises the name that starts like a formula.)
    assert [(r["group"], r["member"], r["path"], r["turn"]) for r in got] == [
        ("1", "1", "'=c_mirrored.png", "none"),
        ("1", "2", "a_original.png", "mirror_left_right"),
        ("1", "3", "b_resent.jpg", "mirror_left_right"),
    ]
    assert all(int(r["distance_to_first"]) <= 31 for r in got)
    records = {r["path"]: r for r in json.loads(manifest.read_text())["files"]}
    for r in got:
        path = r["path"].lstrip("'")
        assert r["pdq"] == records[path]["metadata"]["pdq"]["hash"]
        assert r["sha256"] == records[path]["hashes"]["sha256"]
        assert r["quality"] == str(records[path]["metadata"]["pdq"]["quality"])
    assert "5 images with a PDQ hash in 6 records: 1 group of 3 files" in done.output.replace("\n", " ")
    assert "1 image below quality 50 not compared" in done.output


def test_similar_with_a_known_list(scanned: tuple[Path, Path], tmp_path: Path) -> None:
    _, manifest = scanned
    records = {r["path"]: r for r in json.loads(manifest.read_text())["files"]}
    other = records["d_other.png"]["metadata"]["pdq"]["hash"]
    known = tmp_path / "reported.pdq"
    known.write_text(f"# from the platform\n{other},report 7\n{'0' * 64},never seen\n")
    out = tmp_path / "matches.csv"
    done = run("similar", manifest, "--known", known, "-o", out)
    assert done.exit_code == 0, done.output
    got = [(r["group"], r["path"], r["known"], r["distance_to_first"]) for r in rows(out)]
    assert ("2", "d_other.png", "", "0") in got and ("2", "", "report 7", "0") in got
    assert not any(r[2] == "never seen" for r in got)
    assert "(1 with a known hash)" in done.output


def test_similar_refuses_what_it_cannot_use(scanned: tuple[Path, Path], tmp_path: Path) -> None:
    folder, manifest = scanned
    plain = tmp_path / "plain.json"
    assert run("scan", folder, "--workers", "0", "--json", plain).exit_code == 0
    done = run("similar", plain)
    assert done.exit_code == 2 and "has a PDQ hash: scan with `evidence scan --pdq` first" in done.output
    bad = tmp_path / "bad.pdq"
    bad.write_text("not a hash\n")
    out = tmp_path / "never.csv"
    done = run("similar", manifest, "--known", bad, "-o", out)
    assert done.exit_code == 2 and "line 1 does not start with a PDQ hash" in done.output
    assert not out.exists()
    assert run("similar", manifest, "--distance", "64").exit_code == 2
    tampered = tmp_path / "tampered.json"
    tampered.write_text(manifest.read_text().replace('"quality": 100', '"quality": 99', 1))
    done = run("similar", tampered, "-o", tmp_path / "t.csv")
    assert done.exit_code == 2 and not (tmp_path / "t.csv").exists()


def test_the_report_of_a_pdq_scan_shows_the_groups(scanned: tuple[Path, Path], tmp_path: Path) -> None:
    folder, manifest = scanned
    page = tmp_path / "report.html"
    assert run("report", manifest, "-o", page).exit_code == 0
    text = page.read_text(encoding="utf-8")
    assert "<h2>Similar pictures (1 group of 3 files)</h2>" in text
    section = text.split("<h2>Similar pictures", 1)[1].split("<h2>", 1)[0]
    for name, turn in (("=c_mirrored.png", "none"), ("a_original.png", "mirror_left_right"), ("b_resent.jpg", "")):
        assert f"<td class=mono>{name}</td>" in section and turn in section
    assert "d_other.png" not in section
    plain = tmp_path / "plain.json"
    assert run("scan", folder, "--workers", "0", "--json", plain).exit_code == 0
    assert run("report", plain, "-o", tmp_path / "plain.html").exit_code == 0
    assert "Similar pictures" not in (tmp_path / "plain.html").read_text(encoding="utf-8")


def zipped(members: dict[str, bytes]) -> bytes:
    return zip_of(list(members.items()))


def test_a_picture_inside_an_archive_joins_its_copies_and_a_known_hash(tmp_path: Path) -> None:
    # A victim's photo, and the same photo re-sent smaller inside a WhatsApp export zip:
    # no digest is equal, the member's PDQ hash finds it without unzipping.
    folder = tmp_path / "case"
    folder.mkdir()
    photo = picture(360, 480, 31)
    save(folder / "original.png", photo, "PNG")
    smaller = np.asarray(Image.fromarray(photo).resize((320, 240), Image.BILINEAR))
    other = picture(360, 480, 32)
    (folder / "chat.zip").write_bytes(
        zipped(
            {
                "Chat/IMG-20190501-WA0001.jpg": encoded(smaller, "JPEG", quality=75),
                "Chat/other.png": encoded(other, "PNG"),
            }
        )
    )
    manifest = tmp_path / "case.json"
    assert run("scan", folder, "--pdq", "--workers", "0", "--json", manifest).exit_code == 0
    records = {r["path"]: r for r in json.loads(manifest.read_text())["files"]}
    members = {m["name"]: m for m in records["chat.zip"]["metadata"]["archive"]["members"]}
    assert set(members["Chat/other.png"]["pdq"]) == {"hash", "quality", "turned"}
    known = tmp_path / "reported.pdq"
    known.write_text(f"{members['Chat/other.png']['pdq']['hash']},report 9\n")
    out = tmp_path / "similar.csv"
    done = run("similar", manifest, "--known", known, "-o", out)
    assert done.exit_code == 0, done.output
    got = [(r["group"], r["path"], r["archive_member"], r["known"], r["sha256"]) for r in rows(out)]
    assert got == [
        ("1", "chat.zip", "Chat/IMG-20190501-WA0001.jpg", "", members["Chat/IMG-20190501-WA0001.jpg"]["sha256"]),
        ("1", "original.png", "", "", records["original.png"]["hashes"]["sha256"]),
        ("2", "chat.zip", "Chat/other.png", "", members["Chat/other.png"]["sha256"]),
        ("2", "", "", "report 9", ""),
    ]
    assert "3 images with a PDQ hash in 2 records: 2 groups of 3 files" in done.output.replace("\n", " ")
    page = tmp_path / "report.html"
    assert run("report", manifest, "-o", page).exit_code == 0
    section = page.read_text(encoding="utf-8").split("<h2>Similar pictures", 1)[1].split("<h2>", 1)[0]
    assert "chat.zip<br>member <span class=mono>Chat/IMG-20190501-WA0001.jpg</span>" in section


def test_members_are_not_decoded_without_pdq(tmp_path: Path) -> None:
    folder = tmp_path / "case"
    folder.mkdir()
    (folder / "chat.zip").write_bytes(zipped({"a.png": encoded(picture(64, 64, 1), "PNG")}))
    manifest = tmp_path / "case.json"
    assert run("scan", folder, "--workers", "0", "--json", manifest).exit_code == 0
    [record] = json.loads(manifest.read_text())["files"]
    assert "pdq" not in record["metadata"]["archive"]["members"][0]


def test_members_pixels_decoded_are_bounded_by_the_time_limit() -> None:
    from evidence_cli.extractors.archive import PDQ_PIXELS_PER_SECOND, ArchiveExtractor
    from tests.builders import file_context

    data = zipped(
        {f"{i}.png": encoded(picture(100, 100, i + 1), "PNG") for i in range(3)} | {"bad.png": b"\x89PNG\r\n\x1a\n"}
    )
    ctx = file_context(data, "pictures.zip")
    # Room for two 100 x 100 pictures, not three.
    ctx = type(ctx)(**{**ctx.__dict__, "pdq": True, "timeout": 25_000 / PDQ_PIXELS_PER_SECOND})
    found = ArchiveExtractor().extract(ctx)
    members = found.tags["members"]
    assert ["pdq" in m for m in members] == [True, True, False, False]
    said = [p.message for p in found.problems]
    assert any(m.startswith("1 picture member(s) not PDQ-hashed: over the 6 megapixels") for m in said), said
    assert any(m.startswith("1 picture member(s) not PDQ-hashed: their size could not be read") for m in said), said
    unbounded = type(ctx)(**{**ctx.__dict__, "timeout": None})
    assert ["pdq" in m for m in ArchiveExtractor().extract(unbounded).tags["members"]] == [True, True, True, False]


def test_a_forged_member_pdq_is_counted_not_compared() -> None:
    tally = Tally()
    record = {"path": "x.zip", "metadata": {"archive": {"members": [{"name": "a.png", "pdq": {"hash": "zz"}}]}}}
    assert list(scan_members([record], tally, 50)) == []
    assert tally.malformed == 1
