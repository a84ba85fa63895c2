"""RIFF metadata of WAV and AVI files: the INFO list, the Broadcast Wave ``bext`` chunk and
a WAV's audio format.

Call recorders, dictaphones and field recorders save WAV files; their ``bext`` chunk
(EBU Tech 3285) says which device or organisation made the recording (``Originator``)
and when (``OriginationDate`` + ``OriginationTime``), and how the audio was processed
since (``CodingHistory``). The ``LIST``/``INFO`` chunk, in WAV and AVI alike, holds the
software (``ISFT``), a creation date (``ICRD``), a title, an artist and comments. An AVI
from a camera says when it was shot in the ``IDIT`` chunk of its header list (``hdrl``);
some WAV writers add an ID3 tag as an ``id3 `` chunk (read as the ``id3`` reader reads an
MP3's).
The top-level chunks are listed too: a chunk an examiner does not expect (another
program's, an ``id3 `` tag, data after the audio) shows there. Chunks are read with
the bounded walk of :mod:`evidence_cli.formats.riff`; a list other than INFO (an AVI's
whole ``movi`` stream) is never read.
"""

from __future__ import annotations

import dataclasses
import io
import re
import struct
from typing import Any, BinaryIO, Iterator

from evidence_cli.extractors import id3 as id3_reader
from evidence_cli.extractors.base import FileContext, problem, register
from evidence_cli.formats import id3, riff
from evidence_cli.models import Device, Extraction, Timestamp
from evidence_cli.timeparse import TimeParseError, make_iso_timestamp

NAME = "riff"
WAV_TYPES = frozenset({"audio/x-wav", "audio/wav", "audio/vnd.wave"})
AVI_TYPES = frozenset({"video/x-msvideo", "video/avi"})
#: Bytes of an INFO list read (its texts are a few hundred bytes).
MAX_INFO = 1024 * 1024
#: Top-level chunks listed in the record.
MAX_LISTED = 200
#: Longest text kept from one INFO or bext field (CodingHistory can run long).
MAX_TEXT = 4096
#: WAVE format tags (RFC 2361) an examiner meets most.
FORMATS = {
    0x0001: "PCM",
    0x0002: "Microsoft ADPCM",
    0x0003: "IEEE float",
    0x0006: "A-law",
    0x0007: "mu-law",
    0x0011: "IMA ADPCM",
    0x0031: "GSM 6.10",
    0x0055: "MPEG layer 3",
    0xFFFE: "extensible",
}
EXTENSIBLE = 0xFFFE
#: Codecs whose duration is the data's bytes over the byte rate exactly.
UNCOMPRESSED = frozenset({"PCM", "IEEE", "A-law", "mu-law"})
#: Chunks that hold an ID3v2 tag in a WAV (writers differ in case).
ID3_CHUNKS = (b"id3 ", b"ID3 ")
MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), 1)}
#: ``THU OCT 26 16:46:04 2006`` (C's ctime, as most cameras write IDIT), weekday optional.
_CTIME = re.compile(r"(?:[A-Za-z]{3}\s+)?([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\d{4})")
#: ``2005:08:17 11:42:43``, ``2005/08/17/ 11:42``, ``2005-08-17``.
_NUMERIC = re.compile(r"(\d{4})[-/:.](\d{1,2})[-/:.](\d{1,2})/?(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")


@register
class RiffExtractor:
    name = NAME
    description = (
        "RIFF metadata of WAV and AVI: INFO list (software, creation date, title, comments), Broadcast Wave "
        "bext (originator, origination time, coding history), an AVI camera's IDIT time, an ID3 tag in a WAV, "
        "a WAV's audio format and duration, an AVI's frame size, codecs, frame rate and length, the chunk list"
    )
    mime_types = WAV_TYPES | AVI_TYPES

    def extract(self, ctx: FileContext) -> Extraction:
        problems: list[str] = []
        with ctx.open() as fh:
            walked = riff.walk(fh, read=frozenset({b"bext", b"fmt ", b"fact", b"IDIT", *ID3_CHUNKS}))
            problems.extend(walked.notes)
            info = _info(fh, walked, problems)
            hdrl_start, hdrl = _list_data(fh, walked, b"hdrl", problems) if walked.form == b"AVI " else (0, b"")
            shot = walked.first(b"IDIT") or _header_chunk(hdrl_start, hdrl, b"IDIT", problems)
        tags: dict[str, Any] = {"form": walked.form.decode("latin-1")}
        if walked.kind and walked.kind != b"RIFF":
            tags["container"] = walked.kind.decode("latin-1")  # RF64 / BW64: sizes from ds64
        names = [c.fourcc.decode("latin-1") for c in walked.chunks[:MAX_LISTED]]
        tags["chunks"] = names + (
            [f"... {len(walked.chunks) - MAX_LISTED} more"] if len(walked.chunks) > MAX_LISTED else []
        )
        if info:
            tags["INFO"] = info
        timestamps: list[Timestamp] = []
        bext_chunk = walked.first(b"bext")
        if bext_chunk is not None and bext_chunk.data is not None:
            tags["bext"] = _bext(bext_chunk.data, problems)
            when = _origination(tags["bext"], problems)
            if when is not None:
                timestamps.append(when)
        created = info.get("ICRD")
        if isinstance(created, str) and created.strip():
            try:
                ts = make_iso_timestamp("DateCreated", NAME, created)
            except TimeParseError:
                ts = None  # free text ("Summer 2019"): kept as the tag, not a time
            if ts is not None:
                timestamps.append(ts)
        if shot is not None and shot.data is not None:
            tags["IDIT"] = _text(shot.data)
            when = _camera_date(tags["IDIT"], problems)
            if when is not None:
                timestamps.append(when)
        embedded = next((c for c in walked.chunks if c.fourcc in ID3_CHUNKS and c.data is not None), None)
        if embedded is not None and embedded.data is not None:
            notes: list[str] = []
            tag = id3.read_v2(io.BytesIO(embedded.data), notes)
            problems.extend(notes)
            if tag is None:
                problems.append(f"RIFF: the {embedded.fourcc.decode('latin-1')!r} chunk holds no ID3v2 tag")
            else:
                tags["id3"] = id3_reader.frame_tags(tag, problems)
                timestamps.extend(id3_reader.recorded(tags["id3"], problems, NAME))
        media = None
        fmt = walked.first(b"fmt ")
        if walked.form == b"WAVE" and fmt is not None and fmt.data is not None:
            tags["fmt"], media = _wave_format(fmt.data, walked, problems)
        elif walked.form == b"AVI " and hdrl:
            tags["avi"], media = _avi_streams(hdrl)
        software = info.get("ISFT")
        if not (isinstance(software, str) and software):
            software = tags.get("id3", {}).get("TSSE")
        return Extraction(
            extractor=NAME,
            group=NAME,
            tags=tags,
            timestamps=tuple(timestamps),
            device=Device(software=software, source=NAME) if isinstance(software, str) and software else None,
            image=media,
            problems=tuple(problem(NAME, p) for p in problems),
        )


def _text(raw: bytes) -> str:
    """A stored text: up to its first NUL, UTF-8 when it is, else Latin-1; blanks cut."""
    raw = raw.split(b"\x00", 1)[0]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.strip()[:MAX_TEXT]


def _list_data(fh: BinaryIO, walked: riff.RiffWalk, kind: bytes, problems: list[str]) -> tuple[int, bytes]:
    """(file offset, data) of the first top-level ``LIST`` of type ``kind``, after its type
    (at most :data:`MAX_INFO` bytes); ``(0, b"")`` when there is none."""
    for chunk in walked.chunks:
        if chunk.fourcc != b"LIST" or chunk.size < 4:
            continue
        fh.seek(chunk.data_offset)
        if fh.read(4) != kind:
            continue
        if chunk.size - 4 > MAX_INFO:
            problems.append(f"RIFF: the {kind.decode()} list holds {chunk.size - 4} bytes; the first {MAX_INFO} read")
        return chunk.data_offset + 4, fh.read(min(chunk.size - 4, MAX_INFO))
    return 0, b""


def _items(data: bytes) -> Iterator[tuple[int, bytes, int, bytes]]:
    """(offset, FourCC, declared size, the bytes there) of each sub-chunk of a list's data."""
    pos = 0
    while pos + 8 <= len(data):
        fourcc, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        yield pos, fourcc, size, data[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size & 1)


def _info(fh: BinaryIO, walked: riff.RiffWalk, problems: list[str]) -> dict[str, Any]:
    """The items of the first top-level ``LIST`` of type ``INFO``."""
    _, data = _list_data(fh, walked, b"INFO", problems)
    out: dict[str, Any] = {}
    for pos, fourcc, size, value in _items(data):
        if not all(0x20 <= c < 0x7F for c in fourcc):
            problems.append(f"RIFF: no INFO item name at offset {pos} of the list; the rest not read")
            break
        if len(value) < size:
            problems.append(f"RIFF: INFO item {fourcc.decode('ascii')} declares {size} bytes, {len(value)} remain")
        key, text = fourcc.decode("ascii"), _text(value)
        if key in out:  # stored twice: both kept, in order
            out[key] = [*(out[key] if isinstance(out[key], list) else [out[key]]), text]
        else:
            out[key] = text
    return out


def _header_chunk(start: int, data: bytes, fourcc: bytes, problems: list[str]) -> riff.Chunk | None:
    """The first ``fourcc`` chunk directly inside an AVI's header list (``LIST hdrl``,
    whose items are ``data``, from file offset ``start``)."""
    for pos, name, size, value in _items(data):
        if name == fourcc:
            if len(value) < size:
                problems.append(f"RIFF: {fourcc.decode('latin-1')} declares {size} bytes, {len(value)} remain")
            return riff.Chunk(fourcc, start + pos, size, value)
    return None


def _fourcc(b: bytes) -> str:
    """A FourCC as text (blanks cut; a byte that is not printable ASCII shown as \\xNN)."""
    return "".join(chr(c) if 0x20 <= c < 0x7F else f"\\x{c:02x}" for c in b).strip()


def _avi_streams(hdrl: bytes) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(the AVI main header and each stream's header and format, the media properties):
    frame size, video codec, frame rate and length from the video stream's header (as
    ffprobe gives them), else from the main header; the audio's codec, channels, rate."""
    out: dict[str, Any] = {}
    streams: list[dict[str, Any]] = []
    for _pos, name, _size, value in _items(hdrl):
        if name == b"avih" and len(value) >= 40:
            us, _max, _pad, flags, frames, _init, n, _buf, width, height = struct.unpack("<10I", value[:40])
            out["main"] = {"us_per_frame": us, "total_frames": frames, "streams": n, "width": width, "height": height}
        elif name == b"LIST" and value[:4] == b"strl":
            if len(streams) >= MAX_LISTED:
                out["streams_not_listed"] = out.get("streams_not_listed", 0) + 1
                continue
            stream: dict[str, Any] = {}
            for _p, sub, _s, v in _items(value[4:]):
                if sub == b"strh" and len(v) >= 36:
                    kind, handler = _fourcc(v[0:4]), _fourcc(v[4:8])
                    scale, rate, start, length = struct.unpack("<4I", v[20:36])
                    stream.update(type=kind, handler=handler, scale=scale, rate=rate, start=start, length=length)
                elif sub == b"strf" and stream.get("type") == "vids" and len(v) >= 20:
                    _size_, width, height, _planes, bits = struct.unpack("<IiiHH", v[:16])
                    stream.update(width=width, height=abs(height), bits=bits, compression=_fourcc(v[16:20]))
                elif sub == b"strf" and stream.get("type") == "auds" and len(v) >= 16:
                    tag, channels, rate, _per_second, _align, bits = struct.unpack("<HHIIHH", v[:16])
                    stream.update(format_tag=tag, channels=channels, sample_rate=rate, bits=bits)
            streams.append(stream)
    if streams:
        out["streams"] = streams
    if not out:
        return out, None
    media: dict[str, Any] = {"format": "AVI"}
    main = out.get("main") or {}
    video = next((s for s in streams if s.get("type") == "vids"), None)
    audio = next((s for s in streams if s.get("type") == "auds"), None)
    width, height = (video or {}).get("width") or main.get("width"), (video or {}).get("height") or main.get("height")
    if width and height:
        media["width"], media["height"] = width, height
    if video is not None:
        media["codec"] = video.get("compression") or video.get("handler") or ""
        if video.get("rate") and video.get("scale"):
            media["frame_rate"] = round(video["rate"] / video["scale"], 6)
            media["duration_s"] = round(video.get("length", 0) * video["scale"] / video["rate"], 6)
    if "duration_s" not in media and main.get("us_per_frame") and main.get("total_frames"):
        media["duration_s"] = round(main["us_per_frame"] * main["total_frames"] / 1e6, 6)
    if audio is not None and "format_tag" in audio:
        media["audio_codec"] = FORMATS.get(audio["format_tag"], f"0x{audio['format_tag']:04X}")
        media["audio_channels"], media["audio_sample_rate"] = audio["channels"], audio["sample_rate"]
    return out, media


def _camera_date(text: str, problems: list[str]) -> Timestamp | None:
    """An AVI's IDIT text (no offset: the camera's clock) as ``DateTimeOriginal``."""
    iso = None
    m = _CTIME.fullmatch(text)
    if m and m.group(1).upper() in MONTHS:
        mon, day, hh, mi, ss, year = m.groups()
        iso = f"{year}-{MONTHS[mon.upper()]:02d}-{int(day):02d}T{int(hh):02d}:{mi}:{ss}"
    elif m := _NUMERIC.fullmatch(text):
        year, mon, day, hh, mi, ss = m.groups()
        iso = f"{year}-{int(mon):02d}-{int(day):02d}"
        if hh is not None:
            iso += f"T{int(hh):02d}:{mi}" + (f":{ss}" if ss is not None else "")
    if iso is None:
        if text:
            problems.append(f"RIFF IDIT: {text[:80]!r} is not a date this reader knows; kept as text")
        return None
    try:
        ts = make_iso_timestamp("DateTimeOriginal", NAME, iso)
    except TimeParseError as exc:
        problems.append(f"RIFF IDIT: {exc}")
        return None
    return dataclasses.replace(ts, raw=text) if ts is not None else None


def _bext(data: bytes, problems: list[str]) -> dict[str, Any]:
    """The Broadcast Wave extension chunk's fields (EBU Tech 3285, versions 0 to 2)."""
    if len(data) < 346:
        problems.append(f"RIFF: the bext chunk holds {len(data)} bytes, less than its 602-byte layout")
        data = data.ljust(346, b"\x00")
    out: dict[str, Any] = {
        "Description": _text(data[0:256]),
        "Originator": _text(data[256:288]),
        "OriginatorReference": _text(data[288:320]),
        "OriginationDate": _text(data[320:330]),
        "OriginationTime": _text(data[330:338]),
        "TimeReference": struct.unpack("<Q", data[338:346])[0],
    }
    if len(data) >= 348:
        out["Version"] = struct.unpack("<H", data[346:348])[0]
    if len(data) >= 412 and any(data[348:412]):
        out["UMID"] = data[348:412].hex()
    if len(data) > 602:
        out["CodingHistory"] = _text(data[602:])
    return {k: v for k, v in out.items() if v != ""}


def _origination(bext: dict[str, Any], problems: list[str]) -> Timestamp | None:
    """OriginationDate (``yyyy-mm-dd``, any separator) and OriginationTime (``hh:mm:ss``,
    any separator) as one local time: the recorder's clock, no offset stored."""
    date, clock = bext.get("OriginationDate"), bext.get("OriginationTime")
    if not isinstance(date, str) or len(date) != 10:
        return None
    raw = date + (f" {clock}" if isinstance(clock, str) and clock else "")
    iso = f"{date[:4]}-{date[5:7]}-{date[8:10]}"
    if isinstance(clock, str) and len(clock) == 8:
        iso += f"T{clock[:2]}:{clock[3:5]}:{clock[6:8]}"
    try:
        ts = make_iso_timestamp("DateTimeOriginal", NAME, iso)
    except TimeParseError as exc:
        problems.append(f"RIFF bext: {exc}")
        return None
    if ts is None:
        return None
    return dataclasses.replace(ts, raw=raw)


def _wave_format(
    data: bytes, walked: riff.RiffWalk, problems: list[str]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(the ``fmt `` chunk's fields, the media properties: format, channels, rate, bits, duration)."""
    if len(data) < 16:
        problems.append(f"RIFF: the fmt chunk holds {len(data)} bytes, less than 16")
        return {"bytes": len(data)}, None
    tag, channels, rate, per_second, align, bits = struct.unpack("<HHIIHH", data[:16])
    fields: dict[str, Any] = {
        "format_tag": tag,
        "channels": channels,
        "sample_rate": rate,
        "bytes_per_second": per_second,
        "block_align": align,
        "bits_per_sample": bits,
    }
    codec = FORMATS.get(tag, f"0x{tag:04X}")
    if tag == EXTENSIBLE and len(data) >= 40:
        # WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of SubFormat.
        sub_tag = struct.unpack("<H", data[24:26])[0]
        fields["sub_format"] = data[24:40].hex()
        codec = f"{FORMATS.get(sub_tag, f'0x{sub_tag:04X}')} (extensible)"
    media: dict[str, Any] = {
        "format": "WAV",
        "codec": codec,
        "channels": channels,
        "sample_rate": rate,
        "bits_per_sample": bits,
    }
    audio = walked.first(b"data")
    fact = walked.first(b"fact")
    samples = struct.unpack("<I", fact.data[:4])[0] if fact is not None and fact.data and len(fact.data) >= 4 else None
    if samples is not None:
        fields["fact_samples"] = samples
    if samples is not None and rate and codec.split(" ")[0] not in UNCOMPRESSED:
        # A compressed stream (ADPCM, GSM, MP3 in WAV): its bytes do not divide evenly
        # into seconds; the fact chunk's sample count does.
        media["duration_s"] = round(samples / rate, 6)
    elif audio is not None and per_second:
        media["duration_s"] = round(audio.size / per_second, 6)
    return fields, media
