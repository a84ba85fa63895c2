"""C2PA Content Credentials: the manifest store found in JPEG, PNG, WebP and ISO files,
its active manifest described (generator, actions, AI source, ingredients, authors,
signer), findings for its presence and for an AI source, and damage that becomes
problems, never a crash. The stores are built here, box by box, as C2PA lays them out."""

from __future__ import annotations

import importlib.util
import struct
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from evidence_cli.extractors.c2pa import C2paExtractor
from evidence_cli.formats import c2pa as c2pafmt
from evidence_cli.models import Extraction
from tests.builders import file_context, jpeg_bytes, png_bytes, scan_one

# --- building a store -----------------------------------------------------------------
#
# The builders of samples/make_samples.py (standard library only): CBOR, JUMBF boxes and a
# certificate's DER, as C2PA lays them out.


def _generator() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "samples" / "make_samples.py"
    spec = importlib.util.spec_from_file_location("make_samples_for_c2pa_tests", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its dataclasses look their module up there)
    # No samples/__pycache__: samples/ holds exactly what the generator writes (test_samples).
    writes, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = writes
    return module


_made = _generator()
cbor, box, superbox, der, der_name = _made.cbor, _made.box, _made.superbox, _made.der, _made.der_name


def certificate(subject: bytes, issuer: bytes) -> bytes:
    return _made.certificate(subject, issuer, b"250101000000Z", b"350101000000Z")


SIGNER = certificate(
    der_name(("C", "NL"), ("O", "Example Camera Co"), ("CN", "Example Signer")),
    der_name(("O", "Example CA"), ("CN", "Root")),
)


def manifest(
    label: str,
    *,
    generator: str = "ExampleApp/1.0 c2pa-rs/0.40",
    actions: list[dict[str, Any]] | None = None,
    ingredient: dict[str, Any] | None = None,
    author: str | None = "Jane Roe",
    cert: bytes = SIGNER,
    claim: bytes | None = None,
) -> bytes:
    assertions = [
        superbox(b"cbor", "c2pa.actions", box(b"cbor", cbor({"actions": actions or [{"action": "c2pa.created"}]}))),
        superbox(b"cbor", "c2pa.hash.data", box(b"cbor", cbor({"alg": "sha256", "hash": b"\x00" * 32}))),
    ]
    if ingredient is not None:
        assertions.append(superbox(b"cbor", "c2pa.ingredient", box(b"cbor", cbor(ingredient))))
    if author is not None:
        work = b'{"@type": "CreativeWork", "author": [{"@type": "Person", "name": "%s"}]}' % author.encode()
        assertions.append(superbox(b"json", "stds.schema-org.CreativeWork", box(b"json", work)))
    if claim is None:
        claim = cbor(
            {
                "claim_generator": generator,
                "claim_generator_info": [{"name": "ExampleApp", "version": "1.0"}],
                "dc:title": "IMG_0001.jpg",
                "dc:format": "image/jpeg",
                "instanceID": "xmp:iid:0001",
                "signature": "self#jumbf=c2pa.signature",
            }
        )
    protected = cbor({1: -7, 33: [cert]})
    signature = cbor((18, [protected, {}, None, b"\x00" * 64]))
    return superbox(
        b"c2ma",
        label,
        superbox(b"c2as", "c2pa.assertions", *assertions),
        superbox(b"c2cl", "c2pa.claim", box(b"cbor", claim)),
        superbox(b"c2cs", "c2pa.signature", box(b"cbor", signature)),
    )


def store(*manifests: bytes) -> bytes:
    return superbox(b"c2pa", "c2pa", *(manifests or (manifest("urn:uuid:active"),)))


def jpeg_with(data: bytes, *, piece: int = 30_000, order: list[int] | None = None) -> bytes:
    """``data`` (a JUMBF box) in APP11 segments of ``piece`` bytes each, the box header
    repeated in every segment after the first, as ISO 19566-5 lays them out."""
    header, body = data[:8], data[8:]
    parts = [body[i : i + piece] for i in range(0, len(body), piece)] or [b""]
    segments = []
    for seq, part in enumerate(parts, 1):
        payload = b"JP" + struct.pack(">HI", 1, seq) + header + part
        segments.append(b"\xff\xeb" + struct.pack(">H", len(payload) + 2) + payload)
    if order is not None:
        segments = [segments[i] for i in order]
    plain = jpeg_bytes()
    return plain[:2] + b"".join(segments) + plain[2:]


def mp4_with(data: bytes, purpose: bytes = b"manifest") -> bytes:
    ftyp = box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")
    uuid = box(b"uuid", c2pafmt.BMFF_UUID + b"\x00\x00\x00\x00" + purpose + b"\x00" + b"\x00" * 8 + data)
    mvhd = box(b"mvhd", b"\x00" * 100)
    return ftyp + uuid + box(b"moov", mvhd) + box(b"mdat", b"\x00" * 64)


def run(data: bytes, mime: str) -> Extraction:
    return C2paExtractor().extract(file_context(data, mime=mime))


# --- reading ---------------------------------------------------------------------------


def test_jpeg_store_across_segments_is_described() -> None:
    ai = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    data = store(
        manifest("urn:uuid:first", generator="OldApp/0.1"),
        manifest(
            "urn:uuid:active",
            actions=[
                {"action": "c2pa.created", "softwareAgent": {"name": "GenAI", "version": "2"}, "digitalSourceType": ai},
                {"action": "c2pa.edited", "when": "2026-03-01T10:00:00Z"},
            ],
            ingredient={"dc:title": "source.png", "dc:format": "image/png", "relationship": "parentOf"},
        ),
    )
    got = run(jpeg_with(data, piece=200), "image/jpeg")  # dozens of segments
    assert got.problems == ()
    tags = dict(got.tags)
    # Built by hand here, unsigned: the C2PA SDK cannot read it, so it is not valid.
    assert tags["manifests"] == 2 and tags["validation"]["state"] == "unreadable"
    assert tags["active_manifest"] == "urn:uuid:active"
    assert tags["claim_generator"] == "ExampleApp/1.0 c2pa-rs/0.40"
    assert tags["claim_generator_info"] == ["ExampleApp 1.0"]
    assert (tags["dc:title"], tags["dc:format"], tags["instanceID"]) == ("IMG_0001.jpg", "image/jpeg", "xmp:iid:0001")
    assert tags["actions"] == [
        {"action": "c2pa.created", "softwareAgent": "GenAI 2", "digitalSourceType": ai},
        {"action": "c2pa.edited", "when": "2026-03-01T10:00:00Z"},
    ]
    assert tags["ingredients"] == [{"dc:title": "source.png", "dc:format": "image/png", "relationship": "parentOf"}]
    assert tags["authors"] == ["Jane Roe"]
    assert tags["assertions"] == ["c2pa.actions", "c2pa.hash.data", "c2pa.ingredient", "stds.schema-org.CreativeWork"]
    assert tags["signature_algorithm"] == "ES256"
    assert tags["signer"] == {
        "subject": "C=NL, O=Example Camera Co, CN=Example Signer",
        "issuer": "O=Example CA, CN=Root",
        "not_before": "2025-01-01T00:00:00Z",
        "not_after": "2035-01-01T00:00:00Z",
    }
    codes = [f.code for f in got.findings]
    assert codes == ["c2pa-manifest", "c2pa-invalid", "ai-generated"]
    assert "could not be read" in got.findings[0].message and "Example Signer" in got.findings[0].message
    assert got.findings[1].severity == "warning" and "cannot be relied on" in got.findings[1].message
    assert ai in got.findings[2].message


def test_segments_out_of_order_are_joined_in_sequence() -> None:
    data = store()
    in_order = run(jpeg_with(data, piece=500), "image/jpeg")
    count = -(-(len(data) - 8) // 500)
    shuffled = run(jpeg_with(data, piece=500, order=list(reversed(range(count)))), "image/jpeg")
    # (What the C2PA SDK makes of segments out of order is its own answer: the reading is ours.)
    without = lambda e: {k: v for k, v in e.tags.items() if k != "validation"}  # noqa: E731
    assert count > 2 and without(shuffled) == without(in_order) and shuffled.problems == ()


def test_a_missing_segment_is_a_problem_not_a_crash() -> None:
    data = store()
    count = -(-(len(data) - 8) // 500)
    got = run(jpeg_with(data, piece=500, order=[i for i in range(count) if i != 1]), "image/jpeg")
    assert any("misses segments" in p.message for p in got.problems)
    assert all(p.severity == "warning" for p in got.problems)


def test_png_caBX_chunk() -> None:
    got = run(png_bytes(chunks=[(b"caBX", store())]), "image/png")
    assert got.tags["active_manifest"] == "urn:uuid:active" and got.problems == ()


def riff_with(form: bytes, first: bytes, data: bytes) -> bytes:
    """A RIFF file of ``form`` whose chunks are ``first`` then a ``C2PA`` chunk of ``data``."""
    body = form + first + b"C2PA" + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_webp_chunk() -> None:
    vp8l = b"VP8L" + struct.pack("<I", 5) + b"\x2f\x00\x00\x00\x00" + b"\x00"
    got = run(riff_with(b"WEBP", vp8l, store()), "image/webp")
    assert got.tags["active_manifest"] == "urn:uuid:active"


def test_wav_chunk() -> None:
    """Generated voices (a sextortion call's audio) can carry Content Credentials too."""
    ai = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16) + b"data" + struct.pack("<I", 4) + b"\x00" * 4
    data = store(manifest("urn:uuid:voice", actions=[{"action": "c2pa.created", "digitalSourceType": ai}]))
    wav = riff_with(b"WAVE", fmt, data)
    assert file_context(wav, "call.wav").file_type.mime in C2paExtractor.mime_types
    got = run(wav, "audio/x-wav")
    assert got.tags["active_manifest"] == "urn:uuid:voice"
    assert [f.code for f in got.findings] == ["c2pa-manifest", "c2pa-invalid", "ai-generated"]


def _mp3_with(*geob: bytes, major: int = 3) -> bytes:
    """An MP3: an ID3v2 tag holding these GEOB frames' data, then MPEG audio frames."""
    frames = b""
    for data in geob:
        size = bytes([(len(data) >> s) & 0x7F for s in (21, 14, 7, 0)]) if major == 4 else struct.pack(">I", len(data))
        frames += b"GEOB" + size + b"\x00\x00" + data
    n = len(frames)
    head = b"ID3" + bytes([major, 0, 0]) + bytes([(n >> s) & 0x7F for s in (21, 14, 7, 0)])
    return head + frames + (b"\xff\xfb\x90\x64" + b"\x00" * 413) * 3


def test_mp3_id3_geob_frame() -> None:
    """An MP3 keeps its store as the object of an ID3 GEOB frame of the C2PA MIME type."""
    ai = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    data = store(manifest("urn:uuid:voice", actions=[{"action": "c2pa.created", "digitalSourceType": ai}]))
    other = b"\x00text/plain\x00a.txt\x00not it\x00hello"
    for major in (3, 4):
        mp3 = _mp3_with(other, b"\x00application/x-c2pa-manifest-store\x00\x00c2pa\x00" + data, major=major)
        assert file_context(mp3, "call.mp3").file_type.mime in C2paExtractor.mime_types
        got = run(mp3, "audio/mpeg")
        assert got.tags["active_manifest"] == "urn:uuid:voice" and got.problems == ()
        assert [f.code for f in got.findings] == ["c2pa-manifest", "c2pa-invalid", "ai-generated"]
    # No store: an MP3 with other objects, or with no ID3 tag at all.
    for mp3 in (_mp3_with(other), (b"\xff\xfb\x90\x64" + b"\x00" * 413) * 3):
        got = run(mp3, "audio/mpeg")
        assert got.tags == {} and got.findings == () and got.problems == ()


def test_tiff_and_dng_tag() -> None:
    """A camera that signs its raw files (DNG: TIFF underneath) keeps the store in IFD0's
    tag 0xCD41; either byte order, classic TIFF."""
    for bo in ("<", ">"):
        tif = _made.tiff(bo, [(0x010F, _made.ASCII, "Leica"), (0xCD41, _made.UNDEFINED, store())], strip=b"\x00" * 16)
        assert file_context(tif, "raw.dng").file_type.mime in C2paExtractor.mime_types
        got = run(tif, "image/tiff")
        assert got.tags["active_manifest"] == "urn:uuid:active" and got.problems == ()
    plain = _made.tiff("<", [(0x010F, _made.ASCII, "Scanner")])
    got = run(plain, "image/tiff")
    assert got.tags == {} and got.findings == () and got.problems == ()
    # A tag that points past the end of the file: a problem, never a crash.
    cut = _made.tiff("<", [(0xCD41, _made.UNDEFINED, store())])[:-100]
    got = run(cut, "image/tiff")
    assert got.tags == {} and [p.message for p in got.problems] == ["TIFF: tag 52545 points outside the file"]


def test_iso_uuid_box() -> None:
    got = run(mp4_with(store()), "video/mp4")
    assert got.tags["active_manifest"] == "urn:uuid:active" and got.problems == ()
    merkle = run(mp4_with(b"\x00" * 40, purpose=b"merkle"), "video/mp4")
    assert merkle.tags == {} and merkle.findings == ()


def test_no_store_no_tags() -> None:
    for data, mime in ((jpeg_bytes(), "image/jpeg"), (png_bytes(), "image/png"), (mp4_with(b"")[:24], "video/mp4")):
        got = run(data, mime)
        assert got.tags == {} and got.findings == ()


def test_a_claim_v2_with_generator_info_as_a_map() -> None:
    claim = cbor({"claim_generator_info": {"name": "Phone Camera", "version": "7"}, "title": "shot"})
    got = run(jpeg_with(store(manifest("urn:c2pa:x", claim=claim))), "image/jpeg")
    assert got.tags["claim_generator_info"] == ["Phone Camera 7"] and got.tags["title"] == "shot"
    assert "made with Phone Camera 7" in got.findings[0].message


def test_synthetic_source_is_its_own_finding() -> None:
    kind = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeSynthetic"
    actions = [{"action": "c2pa.created", "digitalSourceType": kind}]
    got = run(jpeg_with(store(manifest("m", actions=actions))), "image/jpeg")
    assert [f.code for f in got.findings] == ["c2pa-manifest", "c2pa-invalid", "synthetic-media"]


# --- damage ----------------------------------------------------------------------------


def test_damaged_claim_and_signature_are_problems() -> None:
    data = store(manifest("m", claim=b"\x5a\xff\xff\xff\xff", cert=b"\x30\x82\xff\xff"))
    got = run(jpeg_with(data), "image/jpeg")
    messages = " | ".join(p.message for p in got.problems)
    assert "c2pa.claim" in messages and "damaged" in messages
    assert "certificate could not be read" in messages
    assert got.tags["actions"] == [{"action": "c2pa.created"}], "what could be read is kept"
    assert [f.code for f in got.findings] == ["c2pa-manifest", "c2pa-invalid"]


@pytest.mark.parametrize("keep", [20, 60, 200, 400, 900])
def test_truncated_store_never_crashes(keep: int) -> None:
    got = run(png_bytes(chunks=[(b"caBX", store()[:keep])]), "image/png")
    assert all(p.severity == "warning" for p in got.problems)


def test_deep_nesting_is_bounded() -> None:
    inner = box(b"cbor", cbor({"x": 1}))
    for _ in range(200):
        inner = superbox(b"c2as", "deeper", inner)
    got = run(png_bytes(chunks=[(b"caBX", superbox(b"c2pa", "c2pa", inner))]), "image/png")
    assert any("deeper" in p.message for p in got.problems)


def test_long_text_is_cut() -> None:
    got = run(jpeg_with(store(manifest("m", generator="A" * 50_000))), "image/jpeg")
    generator = got.tags["claim_generator"]
    assert isinstance(generator, str) and len(generator) < 1_100 and generator.endswith("[50000 characters]")


# --- through the scan -----------------------------------------------------------------


def test_scan_record_carries_the_manifest(tmp_path: Path) -> None:
    rec = scan_one(tmp_path / "ev", "shared.jpg", jpeg_with(store()))
    assert rec.mime == "image/jpeg"
    assert rec.metadata["c2pa"]["active_manifest"] == "urn:uuid:active"
    assert "c2pa-manifest" in [f.code for f in rec.findings]
    assert not [e for e in rec.errors if "c2pa" in e.stage]


def test_certificate_times_in_both_forms() -> None:
    """UTCTime (two-digit years: 50-99 are 19xx) and GeneralizedTime become ISO UTC; other
    text is kept as it is."""
    assert c2pafmt._time(b"491231235959Z", 0x17, 0, 13) == "2049-12-31T23:59:59Z"
    assert c2pafmt._time(b"500101000000Z", 0x17, 0, 13) == "1950-01-01T00:00:00Z"
    assert c2pafmt._time(b"20350101000000Z", 0x18, 0, 15) == "2035-01-01T00:00:00Z"
    assert c2pafmt._time(b"20350101000000.5Z", 0x18, 0, 17) == "20350101000000.5Z"
    assert c2pafmt.certificate(b"\x30\x03\x02\x01\x01") is None
    assert c2pafmt.certificate(b"not DER at all") is None
