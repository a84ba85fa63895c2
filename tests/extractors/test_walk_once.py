"""A JPEG's segments, a PNG's chunks and a HEIF file's item list are read once for all
the file's readers (FileContext.jpeg_walk, png_walk, heif_meta)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, Callable

import pytest

from evidence_cli.formats import isobmff, jpeg
from evidence_cli.formats import png as pngfmt
from evidence_cli.models import FileRecord
from evidence_cli.scanner import ScanOptions, process_entry
from evidence_cli.walker import resolve_roots, walk
from tests.builders import exif_tiff, jpeg_bytes, png_bytes
from tests.formats.isobmff_builders import heif_file

XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="Walked Once 1.0"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def _with_xmp(data: bytes) -> bytes:
    """``data`` (a JPEG) with an XMP APP1 segment after its first segment."""
    payload = jpeg.XMP_ID + XMP
    seg = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    first_end = 4 + struct.unpack(">H", data[4:6])[0]
    return data[:first_end] + seg + data[first_end:]


def _counted(monkeypatch: pytest.MonkeyPatch, real: Callable[..., Any], *where: tuple[object, str]) -> list[int]:
    """Count the calls of ``real``, put in its place at each (module, name) of ``where``."""
    calls: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    for module, name in where:
        monkeypatch.setattr(module, name, counted)
    return calls


def _scan(folder: Path, name: str, data: bytes) -> FileRecord:
    """The record of one file, every reader run in this process."""
    (folder / name).write_bytes(data)
    (entry,) = list(walk(resolve_roots([str(folder)])))
    return process_entry(entry, ScanOptions(workers=0))


def test_exif_xmp_and_iptc_share_one_walk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counted(monkeypatch, jpeg.walk, (jpeg, "walk"))
    record = _scan(tmp_path, "photo.jpg", _with_xmp(jpeg_bytes(exif_tiff(make="WalkCam"))))
    assert record.mime == "image/jpeg"
    assert record.metadata["exif"]["Image Make"] == "WalkCam"  # the EXIF reader used the walk
    assert "Walked Once 1.0" in repr(record.metadata["xmp"])  # so did the XMP reader
    assert record.errors == ()  # the IPTC reader (which walks it too) found no damage
    assert len(calls) == 1


def test_png_exif_xmp_and_png_readers_share_one_walk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    itxt = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + XMP
    data = png_bytes(exif=exif_tiff(make="WalkCam"), chunks=[(b"tEXt", b"Comment\x00walked once"), (b"iTXt", itxt)])
    calls = _counted(monkeypatch, pngfmt.walk, (pngfmt, "walk"))
    record = _scan(tmp_path, "screen.png", data)
    assert record.mime == "image/png"
    assert record.metadata["exif"]["Image Make"] == "WalkCam"  # the EXIF reader's eXIf chunk
    assert "Walked Once 1.0" in repr(record.metadata["xmp"])  # the XMP reader's iTXt chunk
    assert "walked once" in repr(record.metadata["png"])  # the png reader's tEXt chunk
    assert record.errors == ()
    assert len(calls) == 1


def test_heif_exif_and_container_readers_share_one_item_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (Both readers read it through isobmff: read_meta, or heif_meta_of when not shared.)
    calls = _counted(monkeypatch, isobmff.read_heif_meta, (isobmff, "read_heif_meta"))
    record = _scan(tmp_path, "IMG_0001.HEIC", heif_file(exif_tiff(make="WalkCam")))
    assert record.mime == "image/heic"
    assert record.metadata["exif"]["Image Make"] == "WalkCam"  # the EXIF reader found the Exif item
    assert record.metadata["quicktime"]["heif"]["item_types"] == {"Exif": 1, "hvc1": 1}  # the container reader
    assert len(calls) == 1
