"""C2PA Content Credentials: what a file's manifest says about where it came from.

A camera, an editor or an image generator may sign a C2PA manifest into the file: the
software that made it, the actions taken (created, opened, edited, ...), the ingredients
it was made from, the digital source type (a trained algorithm: generative AI), and the
signer's certificate. In cases of fabricated intimate images this is what an examiner
looks for first, so its presence is a finding, and so is a declared AI source.

Read by our own bounded reader (:mod:`evidence_cli.formats.c2pa`), then validated by the
C2PA reference SDK (:mod:`evidence_cli.formats.c2pa_validation`, offline): the record's
``validation`` says whether the signature, the assertions' hashes and the hashes that
bind the manifest to the file's bytes hold, and whether the signer is trusted. Without
the SDK installed, it says the manifest was not validated and why.
"""

from __future__ import annotations

from typing import Any

from evidence_cli import threadlimit
from evidence_cli.errors import UnsupportedFile
from evidence_cli.extractors.base import FileContext, problem, register
from evidence_cli.extractors.xmp import source_type_finding
from evidence_cli.formats import c2pa as c2pafmt
from evidence_cli.formats import c2pa_validation, id3, isobmff, jpeg, riff, tiff
from evidence_cli.formats import png as pngfmt
from evidence_cli.models import Extraction, Finding, Timestamp
from evidence_cli.timeparse import TimeParseError, make_iso_timestamp

NAME = "c2pa"
ISO_TYPES = frozenset(
    {
        "video/mp4",
        "video/quicktime",
        "video/3gpp",
        "video/3gpp2",
        "video/x-m4v",
        "audio/mp4",
        "audio/x-m4a",
        "image/heic",
        "image/heif",
        "image/heic-sequence",
        "image/heif-sequence",
        "image/avif",
        "image/avif-sequence",
    }
)
#: RIFF files (WebP, WAV, AVI), which keep the store in a top-level ``C2PA`` chunk.
RIFF_TYPES = frozenset({"image/webp", "audio/x-wav", "audio/wav", "audio/vnd.wave", "video/x-msvideo", "video/avi"})
#: TIFF and the raw formats built on it (DNG), which keep the store in IFD0's tag 0xCD41.
TIFF_TYPES = frozenset({"image/tiff", "image/x-tiff-big", "image/x-adobe-dng", "image/x-canon-cr2"})
#: MP3 files, which keep the store in an ID3 ``GEOB`` frame of this MIME type.
ID3_TYPES = frozenset({"audio/mpeg", "audio/mp3", "audio/x-mp3", "audio/x-mpeg"})
ID3_STORE_MIME = b"application/x-c2pa-manifest-store"
#: Top-level boxes looked at in an ISO file (the C2PA box is one of the first few).
MAX_TOP_BOXES = 1_000


@register
class C2paExtractor:
    name = NAME
    description = (
        "C2PA Content Credentials: generator, actions, AI source, ingredients, signer, validated offline by the "
        "C2PA SDK when installed (JPEG, PNG, WebP, TIFF/DNG, WAV, AVI, MP3, MP4/MOV, HEIF/AVIF)"
    )
    mime_types = frozenset({"image/jpeg", "image/png", "image/apng", *RIFF_TYPES, *TIFF_TYPES, *ID3_TYPES, *ISO_TYPES})

    def extract(self, ctx: FileContext) -> Extraction:
        notes: list[str] = []
        with ctx.open() as fh:
            if jpeg.is_jpeg(ctx.head):
                segments = ctx.jpeg_walk(fh).segments
                payloads = [s.payload for s in segments if s.marker == jpeg.APP11 and s.payload]
                data = c2pafmt.from_jpeg_segments(payloads, notes) if payloads else None
            elif pngfmt.is_png(ctx.head):
                chunk = next((c for c in ctx.png_walk(fh).chunks if c.ctype == b"caBX"), None)
                data = chunk.data if chunk is not None else None
            elif riff.is_riff(ctx.head):
                found = riff.walk(fh, read=frozenset({b"C2PA"})).first(b"C2PA")
                data = found.data if found is not None else None
            elif isobmff.looks_isobmff(ctx.head) or isobmff.has_ftyp(ctx.head):
                data = _bmff_store(fh, notes)
            elif tiff.is_tiff(ctx.head):
                ifd = tiff.first_ifd(fh)  # (damage to IFD0 is the EXIF reader's to report)
                entry = ifd.entries.get(tiff.TAG_C2PA)
                data = tiff.read_value(fh, entry, notes, cap=c2pafmt.MAX_STORE) if entry is not None else None
            elif ctx.head[:3] == b"ID3":
                # (Damage to the tag is the id3 reader's to report.)
                data = _id3_store(ctx.id3_tag(fh)[0])
            elif ctx.file_type.mime in ID3_TYPES:
                data = None  # an MP3 without an ID3v2 tag has no place for a store
            else:
                raise UnsupportedFile("not a JPEG, PNG, TIFF, RIFF (WebP, WAV, AVI), MP3 or ISO media file")
            if data is None:
                return Extraction(extractor=NAME, group=NAME, problems=tuple(problem(NAME, n) for n in notes))
            store = c2pafmt.parse_store(data, notes)
            tags = c2pafmt.describe(store, notes) if store is not None else {}
            tags["validation"] = _validated(fh, ctx, notes)
        times = _signing_time(tags["validation"], notes)
        return Extraction(
            extractor=NAME,
            group=NAME,
            tags=tags,
            timestamps=times,
            findings=tuple(_findings(tags)),
            problems=tuple(problem(NAME, n) for n in notes),
        )


def _validated(fh: Any, ctx: FileContext, notes: list[str]) -> dict[str, Any]:
    """The SDK's verdict; if the time limit ends it (it hashes the whole file: a long video
    may take longer than ``--timeout``), what the manifest says is kept and the record says
    validation was stopped, instead of losing both."""
    from evidence_cli.scanner import TimeLimitExceeded  # (the scanner imports the extractors)

    # The SDK reads through Python callbacks; a limit raised inside one is swallowed by
    # the binding and the SDK goes on with a short read, so a hash it then computes would
    # not match: a false "invalid". Any limit raised meanwhile voids the verdict.
    before = threadlimit.limits_raised()
    try:
        verdict = c2pa_validation.validate(fh, ctx.file_type.mime, ctx.c2pa_trust)
        if threadlimit.limits_raised() == before:
            return verdict
    except TimeLimitExceeded:
        pass
    text = "validation stopped at the time limit (--timeout): give a larger one to validate a file this large"
    notes.append(f"C2PA {text}")
    return c2pa_validation.stopped(text, ctx.c2pa_trust)


def _signing_time(validation: dict[str, Any], notes: list[str]) -> tuple[Timestamp, ...]:
    """When a time-stamp authority countersigned the manifest's signature and the SDK
    validated that token, its time (``C2PATimeStamp``, UTC): a time the manifest existed
    by, from a clock that is not the signer's. Not a capture time."""
    when = validation.get("signed_at")
    if not when or validation.get("timestamp") != "validated":
        return ()
    try:
        ts = make_iso_timestamp("C2PATimeStamp", NAME, when)
    except TimeParseError as exc:
        notes.append(f"C2PA time-stamp: {exc}")
        return ()
    return (ts,) if ts is not None else ()


def _bmff_store(fh: Any, notes: list[str]) -> bytes | None:
    reader = isobmff.BoxReader(fh)
    for i, box in enumerate(reader.boxes(0, reader.size)):
        if i >= MAX_TOP_BOXES:
            break
        if box.type == "uuid" and box.usertype == c2pafmt.BMFF_UUID:
            # (Damage elsewhere in the file is the quicktime reader's to report; only this
            # box's own is reported here.)
            before = len(reader.problems)
            payload = reader.payload(box, cap=c2pafmt.MAX_STORE)
            notes.extend(reader.problems[before:])
            return c2pafmt.from_bmff_uuid(payload, notes) if payload is not None else None
    return None


def _id3_store(tag: id3.Tag | None) -> bytes | None:
    """The object of the first ``GEOB`` frame holding a C2PA manifest store."""
    for frame in tag.frames if tag is not None else ():
        if frame.name == "GEOB" and frame.data:
            (mime,), rest = id3.split_encoded(frame.data[1:], 0, 1)
            if mime == ID3_STORE_MIME:
                return id3.split_encoded(rest, frame.data[0], 2)[1]
    return None


def _findings(tags: dict[str, Any]) -> list[Finding]:
    """A finding that Content Credentials are present (what they claim, and what their
    validation found), a warning when they fail it, and one for each action that declares
    an AI or synthetic source."""
    actions = [a for a in tags.get("actions") or [] if isinstance(a, dict)]
    made_by = tags.get("claim_generator") or ", ".join(tags.get("claim_generator_info") or []) or "an unnamed generator"
    signer = (tags.get("signer") or {}).get("subject")
    listed = ", ".join(str(a.get("action")) for a in actions[:10]) or "none listed"
    validation = tags.get("validation") or {}
    state = validation.get("state")
    evidence: dict[str, Any] = {"manifests": tags.get("manifests"), "generator": made_by, "validation": state}
    if signer:
        evidence["signer"] = signer
    out = [
        Finding(
            "c2pa-manifest",
            "notice",
            f"Content Credentials (C2PA): made with {made_by}"
            + (f", signed by {signer}" if signer else "")
            + f"; actions: {listed}. {_validation_text(validation)}",
            evidence,
        )
    ]
    if state in ("invalid", "unreadable"):
        codes = [f["code"] for f in validation.get("failures") or [] if f.get("code") != "signingCredential.untrusted"]
        out.append(
            Finding(
                "c2pa-invalid",
                "warning",
                "The Content Credentials fail validation"
                + (
                    ": the file's bytes changed after it was signed"
                    if validation.get("content_hashes") == "mismatch"
                    else ": the signature does not verify"
                    if validation.get("signature") == "invalid"
                    else ""
                )
                + (f" ({', '.join(codes[:5])})" if codes else "")
                + (f" ({validation.get('error')})" if state == "unreadable" else "")
                + ". What the manifest says cannot be relied on.",
                {"state": state, "codes": codes[:20], "validator": validation.get("validator")},
            )
        )
    for a in actions:
        value = a.get("digitalSourceType")
        found = (
            source_type_finding(value, f"C2PA action {a.get('action')}", "c2pa.actions digitalSourceType")
            if isinstance(value, str)
            else None
        )
        if found is not None:
            out.append(found)
    return out


def _validation_text(v: dict[str, Any]) -> str:
    """One sentence on what the validation found."""
    state = v.get("state")
    by = f" by {v.get('validator')}" if v.get("validator") else ""
    if state == "trusted":
        return f"Validated{by}: signature and content hashes hold, and the signer chains to a trust anchor given."
    if state == "valid":
        return f"Validated{by}: signature and content hashes hold; the signer is not on a trust list" + (
            " given." if v.get("trust_anchors_sha256") else " (none given), so who signed is not established."
        )
    if state == "invalid":
        return f"Validated{by}: INVALID (see the c2pa-invalid finding)."
    if state == "unreadable":
        return f"Validation{by}: the manifest could not be read, so it is not valid."
    return f"Not validated: {v.get('error') or 'no validator'}; signature, certificate and content hashes unchecked."
