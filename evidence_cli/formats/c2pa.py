"""C2PA Content Credentials: the manifest store (JUMBF boxes), read (validation is
:mod:`evidence_cli.formats.c2pa_validation`'s).

A C2PA manifest store is a JUMBF superbox (ISO 19566-5: boxes laid out as in ISO base
media files) labelled ``c2pa``, holding one manifest superbox per signed step of the
file's history; the last is the *active* manifest. Each manifest holds an assertion
store (``c2pa.assertions``: actions, ingredients, CreativeWork, hashes, thumbnails), the
claim (``c2pa.claim`` or ``c2pa.claim.v2``, CBOR: the generator, the title, the list of
assertions) and the signature (``c2pa.signature``: COSE_Sign1 whose header carries the
signer's X.509 certificate chain).

Where the store is: JPEG APP11 segments (``JP``, box instance, sequence number, then
the box, its header repeated in every segment), a PNG ``caBX`` chunk, a top-level ISO
``uuid`` box (D8FEC3D6-1B0E-483C-9297-5828877EC481: version/flags, a purpose string
``manifest``, an 8-byte offset, then the store), a WebP/RIFF ``C2PA`` chunk.

What this reads is what the manifest *says*: nothing here checks the signature, the
certificate chain or the hashes that bind the manifest to the content (the C2PA SDK does,
in :mod:`evidence_cli.formats.c2pa_validation`). A manifest can be copied into another
file or stripped; its presence proves nothing by itself. Everything is bounded: box depth and count, bytes read, CBOR
depth and items, text lengths, list lengths.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from evidence_cli.formats import cbor
from evidence_cli.formats.isobmff import Box, BoxReader

#: The uuid of the C2PA box in ISO base media files.
BMFF_UUID = bytes.fromhex("D8FEC3D61B0E483C92975828877EC481")
#: JUMBF description types are uuids made of a 4-character code and this suffix.
_TYPE_SUFFIX = bytes.fromhex("00110010800000AA00389B71")

MAX_STORE = 16 * 1024 * 1024
MAX_DEPTH = 12
MAX_BOXES = 20_000
#: Content boxes above this size (thumbnails, embedded files) are not read.
MAX_CONTENT = 1024 * 1024
MAX_LABEL = 512
MAX_TEXT = 1_000
MAX_LIST = 100
MAX_PROBLEMS = 20

#: COSE algorithm identifiers (RFC 9053, the ones C2PA allows).
COSE_ALGORITHMS = {-7: "ES256", -35: "ES384", -36: "ES512", -37: "PS256", -38: "PS384", -39: "PS512", -8: "Ed25519"}
_COSE_ALG, _COSE_X5CHAIN = 1, 33
_COSE_SIGN1 = 18


@dataclass
class Superbox:
    """One JUMBF superbox (``jumb``): its description and what it holds."""

    kind: str
    """The 4-character code of its type (``c2pa``, ``c2ma``, ``cbor`` ...), else the type as hex."""
    label: str | None
    children: list[Superbox] = field(default_factory=list)
    content: list[tuple[str, bytes | None]] = field(default_factory=list)
    """Its content boxes: (box type, payload; None when too large to read)."""


def type_code(uuid: bytes) -> str:
    if len(uuid) == 16 and uuid[4:] == _TYPE_SUFFIX and uuid[:4].isascii():
        return uuid[:4].decode("ascii")
    return uuid.hex()


def parse_store(data: bytes, problems: list[str]) -> Superbox | None:
    """The superbox ``data`` starts with (the manifest store, read up to :data:`MAX_STORE`
    bytes); None with problems when it is not a JUMBF superbox."""
    data = data[:MAX_STORE]
    reader = BoxReader(io.BytesIO(data), len(data), max_depth=MAX_DEPTH, max_boxes=MAX_BOXES)
    first = next(reader.boxes(0, len(data), where="C2PA store"), None)
    store = None
    if first is None or first.type != "jumb":
        problems.append("the C2PA store is not a JUMBF superbox")
    else:
        store = _superbox(reader, first, 0, problems)
    problems.extend(f"C2PA store: {p}" for p in reader.problems)
    return store


def _superbox(reader: BoxReader, box: Box, depth: int, problems: list[str]) -> Superbox | None:
    kids = list(reader.children(box, depth))
    if not kids or kids[0].type != "jumd":
        _note(problems, f"JUMBF superbox at offset {box.offset} has no description box")
        return None
    desc = reader.payload(kids[0], cap=4096) or b""
    if len(desc) < 17:
        _note(problems, f"JUMBF description box at offset {kids[0].offset} is too short")
        return None
    toggles = desc[16]
    label = None
    if toggles & 0x02:
        end = desc.find(b"\x00", 17)
        raw = desc[17 : end if end >= 0 else len(desc)]
        label = raw[:MAX_LABEL].decode("utf-8", "replace")
    out = Superbox(type_code(desc[:16]), label)
    for kid in kids[1:]:
        if kid.type == "jumb":
            sub = _superbox(reader, kid, depth + 1, problems)
            if sub is not None:
                out.children.append(sub)
        elif kid.payload_size <= MAX_CONTENT:
            out.content.append((kid.type, reader.payload(kid, cap=MAX_CONTENT)))
        else:
            out.content.append((kid.type, None))
    return out


def _note(problems: list[str], text: str) -> None:
    if len(problems) < MAX_PROBLEMS and text not in problems:
        problems.append(text)


# --- where the store is -----------------------------------------------------------


def from_jpeg_segments(payloads: Iterable[bytes], problems: list[str]) -> bytes | None:
    """The C2PA store from the payloads of a JPEG's APP11 segments (in file order).

    Each ``JP`` segment carries a box instance number and a sequence number, then the
    box header (repeated in every segment) and the next piece of the box. The pieces of
    each instance are joined in sequence order; the instance whose box is a superbox
    labelled ``c2pa`` is the store."""
    instances: dict[bytes, dict[int, bytes]] = {}
    for p in payloads:
        if len(p) < 16 or p[:2] != b"JP":
            continue
        seq = int.from_bytes(p[4:8], "big")
        pieces = instances.setdefault(p[2:4], {})
        if seq in pieces:
            _note(problems, f"JPEG APP11: box instance {int.from_bytes(p[2:4], 'big')} repeats sequence number {seq}")
            continue
        pieces[seq] = p[8:]
    for instance, pieces in instances.items():
        order = sorted(pieces)
        first = pieces[order[0]]
        header = 16 if first[:4] == b"\x00\x00\x00\x01" else 8
        if first[4:8] != b"jumb":
            continue
        if order != list(range(order[0], order[0] + len(order))):
            number = int.from_bytes(instance, "big")
            _note(problems, f"JPEG APP11: box instance {number} misses segments of its sequence")
        data = first + b"".join(pieces[s][header:] for s in order[1:])
        if _is_c2pa_store(data):
            return data
    return None


def from_bmff_uuid(payload: bytes, problems: list[str]) -> bytes | None:
    """The store in the payload of an ISO ``uuid`` box of type :data:`BMFF_UUID` (its
    16-byte usertype already taken off): version and flags, the purpose, then for a
    ``manifest`` an 8-byte offset and the store. Other purposes (``merkle``) hold none."""
    if len(payload) < 5:
        _note(problems, "C2PA uuid box too short")
        return None
    end = payload.find(b"\x00", 4)
    if end < 0:
        _note(problems, "C2PA uuid box: its purpose string has no end")
        return None
    if payload[4:end] != b"manifest":
        return None
    return payload[end + 1 + 8 :]


def _is_c2pa_store(data: bytes) -> bool:
    """Is ``data`` a superbox whose description (its first child) has the type ``c2pa``?"""
    at = 16 if data[:4] == b"\x00\x00\x00\x01" else 8  # after a 64-bit box size: 16
    if data[4:8] != b"jumb":
        return False
    child = 16 if data[at : at + 4] == b"\x00\x00\x00\x01" else 8
    return data[at + 4 : at + 8] == b"jumd" and data[at + child : at + child + 4] == b"c2pa"


# --- what a store says ------------------------------------------------------------


def describe(store: Superbox, problems: list[str]) -> dict[str, Any]:
    """The active manifest (the last one) as the record's tags: generator, title,
    actions, ingredients, authors, assertions, signature algorithm and signer. Damage
    inside becomes problems; what could be read is kept."""
    manifests = [m for m in store.children if m.kind in ("c2ma", "c2um")]
    out: dict[str, Any] = {"manifests": len(manifests)}
    if not manifests:
        _note(problems, "C2PA store holds no manifest")
        return out
    active = manifests[-1]
    out["active_manifest"] = _text(active.label)
    claim_box = next((c for c in active.children if c.kind == "c2cl"), None)
    if claim_box is None:
        _note(problems, f"C2PA manifest {_text(active.label)!r} has no claim")
    elif isinstance(claim := _decoded(claim_box, problems), dict):
        out["claim_version"] = 2 if claim_box.label == "c2pa.claim.v2" else 1
        _put(out, "claim_generator", _text(claim.get("claim_generator")))
        info = claim.get("claim_generator_info")
        infos = info if isinstance(info, list) else [info] if isinstance(info, dict) else []
        names = [_software(i) for i in infos[:MAX_LIST] if isinstance(i, dict)]
        _put(out, "claim_generator_info", [n for n in names if n] or None)
        for key in ("dc:title", "title", "dc:format", "format", "instanceID"):
            _put(out, key, _text(claim.get(key)))
    assertions = next((c for c in active.children if c.kind == "c2as"), None)
    if assertions is not None:
        labels = [a.label or "" for a in assertions.children]
        out["assertions"] = [_text(x) for x in labels[:MAX_LIST]]
        actions: list[dict[str, Any]] = []
        ingredients: list[dict[str, Any]] = []
        authors: list[str] = []
        for a in assertions.children:
            base = (a.label or "").split("__", 1)[0]
            if base in ("c2pa.actions", "c2pa.actions.v2"):
                value = _decoded(a, problems)
                listed = value.get("actions") if isinstance(value, dict) else None
                for act in listed[:MAX_LIST] if isinstance(listed, list) else []:
                    if isinstance(act, dict) and len(actions) < MAX_LIST:
                        actions.append(_action(act))
            elif base.startswith("c2pa.ingredient"):
                value = _decoded(a, problems)
                if isinstance(value, dict) and len(ingredients) < MAX_LIST:
                    ingredients.append(_ingredient(value))
            elif base in ("stds.schema-org.CreativeWork", "stds.schema-org.Photograph") and len(authors) < MAX_LIST:
                authors.extend(_authors(_decoded(a, problems)))
        _put(out, "actions", actions or None)
        _put(out, "ingredients", ingredients or None)
        _put(out, "authors", authors[:MAX_LIST] or None)
    signature_box = next((c for c in active.children if c.kind == "c2cs"), None)
    if signature_box is not None:
        out.update(_signature(signature_box, problems))
    return out


def _decoded(box: Superbox, problems: list[str]) -> Any:
    """The CBOR or JSON content of an assertion, claim or signature box; None if none
    or damaged (with a problem)."""
    for btype, payload in box.content:
        if payload is None:
            continue
        try:
            if btype == "cbor":
                return cbor.loads(payload)
            if btype == "json":
                return json.loads(payload.decode("utf-8"))
        except (cbor.CborError, ValueError, RecursionError) as exc:
            _note(problems, f"C2PA {_text(box.label)!r}: {btype} content is damaged ({str(exc)[:120]})")
            return None
    return None


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + f"…[{len(value)} characters]"


def _software(value: Any) -> str | None:
    """A software agent or generator entry: text, or a map with name and version."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        name, version = _text(value.get("name")), _text(value.get("version"))
        if name:
            return f"{name} {version}" if version else name
    return None


def _action(act: dict[Any, Any]) -> dict[str, Any]:
    """An action's fields an examiner reads (named as C2PA names them)."""
    out: dict[str, Any] = {"action": _text(act.get("action"))}
    _put(out, "softwareAgent", _software(act.get("softwareAgent")))
    for key in ("when", "digitalSourceType", "description"):
        _put(out, key, _text(act.get(key)))
    return out


def _ingredient(value: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("dc:title", "title", "dc:format", "format", "relationship", "instanceID"):
        _put(out, key, _text(value.get(key)))
    return out


def _authors(value: Any) -> list[str]:
    author = value.get("author") if isinstance(value, dict) else None
    items = author if isinstance(author, list) else [author]
    names = [_text(a.get("name")) if isinstance(a, dict) else _text(a) for a in items[:MAX_LIST]]
    return [n for n in names if n]


def _signature(box: Superbox, problems: list[str]) -> dict[str, Any]:
    """The signature's algorithm and its signer's certificate (subject, issuer, validity),
    from the COSE_Sign1 headers; nothing is verified."""
    value = _decoded(box, problems)
    if isinstance(value, cbor.Tagged) and value.tag == _COSE_SIGN1:
        value = value.value
    if not (isinstance(value, list) and len(value) == 4):
        _note(problems, "C2PA signature is not a COSE_Sign1 structure")
        return {}
    headers: dict[Any, Any] = {}
    if isinstance(value[1], dict):
        headers.update(value[1])
    if isinstance(value[0], bytes) and value[0]:
        try:
            protected = cbor.loads(value[0])
        except cbor.CborError as exc:
            _note(problems, f"C2PA signature: protected header is damaged ({str(exc)[:120]})")
            protected = None
        if isinstance(protected, dict):
            headers.update(protected)
    out: dict[str, Any] = {}
    alg = headers.get(_COSE_ALG)
    if isinstance(alg, int):
        out["signature_algorithm"] = COSE_ALGORITHMS.get(alg, f"COSE {alg}")
    chain = headers.get(_COSE_X5CHAIN)
    first = chain[0] if isinstance(chain, list) and chain else chain
    if isinstance(first, bytes):
        cert = certificate(first)
        if cert:
            out["signer"] = cert
        else:
            _note(problems, "C2PA signature: the signer's certificate could not be read")
    return out


# --- the signer's certificate (DER), read for its names and validity only ----------------------

_NAMES = {
    bytes.fromhex("550403"): "CN",
    bytes.fromhex("55040A"): "O",
    bytes.fromhex("55040B"): "OU",
    bytes.fromhex("550406"): "C",
}


def _der(data: bytes, pos: int, limit: int | None = None) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the DER element at ``pos``, which
    must end by ``limit`` (its parent's end; default the data's)."""
    limit = len(data) if limit is None else limit
    if pos + 2 > limit:
        raise ValueError("DER: truncated")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + n > limit:
            raise ValueError("DER: bad length")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    if pos + length > limit:
        raise ValueError("DER: element runs past its parent")
    return tag, pos, pos + length


def _elements(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out: list[tuple[int, int, int]] = []
    pos = start
    while pos < end and len(out) < 64:
        tag, vstart, vend = _der(data, pos, end)
        out.append((tag, vstart, vend))
        pos = vend
    return out


def _name(data: bytes, start: int, end: int) -> str | None:
    parts = []
    for _, s, e in _elements(data, start, end):  # SET OF
        for _, s2, e2 in _elements(data, s, e):  # SEQUENCE { type, value }
            inner = _elements(data, s2, e2)
            if len(inner) == 2 and inner[0][0] == 0x06:
                key = _NAMES.get(data[inner[0][1] : inner[0][2]])
                if key is not None:
                    raw = data[inner[1][1] : inner[1][2]]
                    text = raw.decode("utf-16-be" if inner[1][0] == 0x1E else "utf-8", "replace")
                    parts.append(f"{key}={text[:200]}")
    return ", ".join(parts) or None


def _time(data: bytes, tag: int, start: int, end: int) -> str | None:
    raw = data[start:end].decode("ascii", "replace")
    if tag == 0x17 and len(raw) == 13 and raw.endswith("Z") and raw[:12].isdigit():  # UTCTime
        year = int(raw[:2])
        raw = f"{1900 + year if year >= 50 else 2000 + year}{raw[2:]}"
    if len(raw) == 15 and raw.endswith("Z") and raw[:14].isdigit():
        return f"{raw[:4]}-{raw[4:6]}-{raw[6:8]}T{raw[8:10]}:{raw[10:12]}:{raw[12:14]}Z"
    return raw[:40] or None


def certificate(der: bytes) -> dict[str, Any] | None:
    """Subject, issuer and validity of an X.509 certificate (DER), or None if it is not one."""
    try:
        tag, s, e = _der(der, 0)
        if tag != 0x30:
            return None
        tag, s, e = _der(der, s)  # tbsCertificate
        if tag != 0x30:
            return None
        fields = _elements(der, s, e)
        if fields and fields[0][0] == 0xA0:  # [0] version
            fields = fields[1:]
        # serialNumber, signature, issuer, validity, subject
        if len(fields) < 5 or fields[2][0] != 0x30 or fields[3][0] != 0x30 or fields[4][0] != 0x30:
            return None
        out: dict[str, Any] = {}
        _put(out, "subject", _name(der, fields[4][1], fields[4][2]))
        _put(out, "issuer", _name(der, fields[2][1], fields[2][2]))
        validity = _elements(der, fields[3][1], fields[3][2])
        if len(validity) == 2:
            _put(out, "not_before", _time(der, *validity[0]))
            _put(out, "not_after", _time(der, *validity[1]))
        return out or None
    except ValueError:
        return None
