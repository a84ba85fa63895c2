"""The record model: what a scan says about each entry, and its JSON shape.

Every class is a frozen, slotted dataclass with ``to_dict()``/``from_dict()`` that
round-trip exactly. The JSON shape is the contract of DESIGN.md (schema
``evidence-cli/scan/1``); any change to it bumps :data:`SCHEMA_VERSION` and the JSON
Schema file ``evidence_cli/schema/scan-record.schema.json``.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field, fields
from typing import Any, Iterator, Literal, Mapping, TypeVar

SCHEMA_VERSION = "evidence-cli/scan/1"

JSONValue = Any
_T = TypeVar("_T")
Severity = Literal["warning", "error"]
FindingSeverity = Literal["info", "notice", "warning"]
Kind = Literal["file", "symlink", "directory", "other"]
#: Where a timestamp's UTC offset came from.
OffsetOrigin = Literal["stored", "gps-inferred", "utc-by-spec", "none"]


#: The ``metadata`` group in which the archive reader lists an archive's members.
ARCHIVE_GROUP = "archive"


def archive_members(metadata: Any) -> Iterator[Mapping[str, Any]]:
    """The members a record's ``metadata`` lists for an archive (``archive.members``) that
    have a name: for the outputs that show them (a record read back may hold anything)."""
    group = metadata.get(ARCHIVE_GROUP) if isinstance(metadata, Mapping) else None
    listed = group.get("members") if isinstance(group, Mapping) else None
    for m in listed if isinstance(listed, list) else ():
        if isinstance(m, Mapping) and isinstance(m.get("name"), str):
            yield m


@dataclass(frozen=True, slots=True)
class Problem:
    """Something that went wrong while reading one entry; the scan goes on."""

    stage: str
    """Pipeline stage: ``walk``, ``stat``, ``hash``, ``type``, ``metadata:<extractor>``."""
    severity: Severity
    """``warning``: damaged but read; ``error``: this stage produced nothing."""
    type: str
    """Exception class name, or a short code for damage found by a parser."""
    message: str
    """Human explanation; may quote evidence strings (escaped by every writer)."""

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "severity": self.severity, "type": self.type, "message": self.message}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Problem:
        return cls(stage=d["stage"], severity=d["severity"], type=d["type"], message=d["message"])


@dataclass(frozen=True, slots=True)
class Finding:
    """An observation an examiner should see (e.g. an extension that hides the real type)."""

    code: str
    """Stable machine code, e.g. ``extension-mismatch``."""
    severity: FindingSeverity
    message: str
    evidence: Mapping[str, JSONValue] = field(default_factory=dict)
    """The values the finding rests on, JSON-safe."""

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "message": self.message, "evidence": dict(self.evidence)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Finding:
        return cls(code=d["code"], severity=d["severity"], message=d["message"], evidence=dict(d.get("evidence") or {}))


@dataclass(frozen=True, slots=True)
class Timestamp:
    """One timestamp found in a file, with its provenance.

    ``value`` is ISO-8601: with its own offset when the source records one, naive
    (no offset) when it does not. ``utc`` is given only when the offset is known
    or inferred (``offset_origin`` then says so). ``raw`` is the stored text.
    """

    name: str
    """Standard tag name: ``DateTimeOriginal``, ``CreateDate``, ``GPSDateTime`` ..."""
    source: str
    """Group that holds it: ``exif``, ``xmp``, ``quicktime``, ``pdf``, ``filesystem`` ..."""
    value: str
    utc: str | None
    raw: str
    offset_origin: OffsetOrigin = "none"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "value": self.value,
            "utc": self.utc,
            "raw": self.raw,
            "offset_origin": self.offset_origin,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Timestamp:
        return cls(
            name=d["name"],
            source=d["source"],
            value=d["value"],
            utc=d.get("utc"),
            raw=d["raw"],
            offset_origin=d.get("offset_origin", "none"),
        )


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A validated position: signed decimal degrees (S and W negative), metres."""

    latitude: float
    longitude: float
    altitude: float | None
    """Metres; negative below sea level; None when absent or invalid."""
    timestamp_utc: str | None
    source: str
    raw: Mapping[str, JSONValue] = field(default_factory=dict)
    """The stored values the point was computed from."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "latitude": self.latitude,
            "longitude": self.longitude,
            "altitude": self.altitude,
            "timestamp_utc": self.timestamp_utc,
            "source": self.source,
            "raw": dict(self.raw),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GeoPoint:
        return cls(
            latitude=d["latitude"],
            longitude=d["longitude"],
            altitude=d.get("altitude"),
            timestamp_utc=d.get("timestamp_utc"),
            source=d["source"],
            raw=dict(d.get("raw") or {}),
        )


@dataclass(frozen=True, slots=True)
class Device:
    """The device and software that made the file, as the file says."""

    make: str | None = None
    model: str | None = None
    serial: str | None = None
    software: str | None = None
    lens: str | None = None
    source: str | None = None
    """Group the values came from (the first one that gave any)."""

    FIELDS = ("make", "model", "serial", "software", "lens")

    def is_empty(self) -> bool:
        return all(getattr(self, f) is None for f in self.FIELDS)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {f: getattr(self, f) for f in self.FIELDS}
        d["source"] = self.source
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Device:
        return cls(**{f: d.get(f) for f in (*cls.FIELDS, "source")})


@dataclass(frozen=True, slots=True)
class Extraction:
    """What one extractor read from one file."""

    extractor: str
    group: str
    """Key under ``metadata`` for ``tags`` (usually the extractor's name)."""
    tags: Mapping[str, JSONValue] = field(default_factory=dict)
    """Raw tags, JSON-safe, keys verbatim as the format names them."""
    timestamps: tuple[Timestamp, ...] = ()
    gps: GeoPoint | None = None
    device: Device | None = None
    image: Mapping[str, JSONValue] | None = None
    """Image/media properties (format, width, height, ...), if this extractor reads them."""
    problems: tuple[Problem, ...] = ()
    findings: tuple[Finding, ...] = ()
    """Observations for the examiner (e.g. XMP declaring AI-generated media)."""


@dataclass(frozen=True, slots=True)
class FileType:
    """What the content is, and whether the name agrees."""

    mime: str | None
    description: str | None
    extension_ok: bool | None
    """False when the extension does not fit the type; None when we cannot tell."""
    decided_by: str = "libmagic"
    problem: str | None = None
    """What libmagic said when it gave up on the content (a warning on the record)."""


@dataclass(frozen=True, slots=True)
class FileRecord:
    """The record of one entry of a scan (the JSON record of DESIGN.md)."""

    path: str
    """Relative to the scan root, POSIX separators; undecodable bytes as ``\\xNN``."""
    path_bytes: str | None
    """Base64 of the exact name bytes when the name is not valid UTF-8 (or is ambiguous)."""
    kind: Kind
    size: int | None
    mime: str | None = None
    description: str | None = None
    extension_ok: bool | None = None
    type_decided_by: str | None = None
    link_target: str | None = None
    hashes: Mapping[str, str] = field(default_factory=dict)
    filesystem: Mapping[str, str | None] = field(default_factory=dict)
    timestamps: tuple[Timestamp, ...] = ()
    captured: Timestamp | None = None
    gps: GeoPoint | None = None
    device: Device = field(default_factory=Device)
    image: Mapping[str, JSONValue] | None = None
    metadata: Mapping[str, Mapping[str, JSONValue]] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    errors: tuple[Problem, ...] = ()
    rendered: Mapping[str, str] | None = field(default=None, init=False, compare=False, repr=False)
    """This record's text in the exports, by :data:`evidence_cli.writers.PRERENDER` kind,
    made by the worker process that made the record (see ``writers.prerender``): the main
    process, which writes every record of a scan, then only writes it. Not part of the
    record's value: never compared, never in ``to_dict``, and gone from any copy made with
    ``dataclasses.replace`` (a changed record is converted again where it is written)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "path_bytes": self.path_bytes,
            "kind": self.kind,
            "size": self.size,
            "mime": self.mime,
            "description": self.description,
            "extension_ok": self.extension_ok,
            "type_decided_by": self.type_decided_by,
            "link_target": self.link_target,
            "hashes": dict(self.hashes),
            "filesystem": dict(self.filesystem),
            "timestamps": [t.to_dict() for t in self.timestamps],
            "captured": self.captured.to_dict() if self.captured else None,
            "gps": self.gps.to_dict() if self.gps else None,
            "device": self.device.to_dict(),
            "image": dict(self.image) if self.image is not None else None,
            "metadata": {k: dict(v) for k, v in self.metadata.items()},
            "findings": [f.to_dict() for f in self.findings],
            "errors": [e.to_dict() for e in self.errors],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FileRecord:
        return cls(
            path=d["path"],
            path_bytes=d.get("path_bytes"),
            kind=d["kind"],
            size=d.get("size"),
            mime=d.get("mime"),
            description=d.get("description"),
            extension_ok=d.get("extension_ok"),
            type_decided_by=d.get("type_decided_by"),
            link_target=d.get("link_target"),
            hashes=dict(d.get("hashes") or {}),
            filesystem=dict(d.get("filesystem") or {}),
            timestamps=tuple(Timestamp.from_dict(t) for t in d.get("timestamps") or ()),
            captured=Timestamp.from_dict(d["captured"]) if d.get("captured") else None,
            gps=GeoPoint.from_dict(d["gps"]) if d.get("gps") else None,
            device=Device.from_dict(d.get("device") or {}),
            image=dict(d["image"]) if d.get("image") is not None else None,
            metadata={k: dict(v) for k, v in (d.get("metadata") or {}).items()},
            findings=tuple(Finding.from_dict(f) for f in d.get("findings") or ()),
            errors=tuple(Problem.from_dict(e) for e in d.get("errors") or ()),
        )

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)


@dataclass(frozen=True, slots=True)
class ScanInfo:
    """The header of a scan export (and manifest)."""

    tool: Mapping[str, Any]
    """``{"name": "evidence-cli", "version": ..., "components": {...}}``: the versions of
    what decides the answers besides evidence-cli (see :mod:`evidence_cli.components`);
    headers written before they were recorded have none."""
    case: Mapping[str, str | None]
    """``{"case": ..., "examiner": ..., "evidence_id": ...}`` as given on the command line."""
    roots: tuple[str, ...]
    """Absolute scan roots as given (after resolving), in order."""
    started_utc: str
    finished_utc: str | None
    options: Mapping[str, JSONValue]
    host: str | None = None
    complete: bool = True
    """False when the scan was interrupted: the export then lists only part of the tree."""
    root: str | None = None
    """Absolute directory every record path is relative to (written as ``scan.root`` when set)."""
    root_bytes: str | None = None
    """Base64 of the exact bytes of ``root`` when it is not valid UTF-8."""

    def to_dict(self) -> dict[str, Any]:
        scan: dict[str, Any] = {
            "roots": list(self.roots),
            "started_utc": self.started_utc,
            "finished_utc": self.finished_utc,
            "host": self.host,
            "complete": self.complete,
            "options": dict(self.options),
        }
        if self.root is not None:
            scan["root"] = self.root
            scan["root_bytes"] = self.root_bytes
        return {
            "schema": SCHEMA_VERSION,
            "tool": dict(self.tool),
            "case": dict(self.case),
            "scan": scan,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ScanInfo:
        s = d["scan"]
        return cls(
            tool=dict(d["tool"]),
            case=dict(d["case"]),
            roots=tuple(s["roots"]),
            started_utc=s["started_utc"],
            finished_utc=s.get("finished_utc"),
            options=dict(s.get("options") or {}),
            host=s.get("host"),
            complete=s.get("complete", True),
            root=s.get("root"),
            root_bytes=s.get("root_bytes"),
        )


#: Result of checking one entry against a manifest (``evidence verify``).
VerifyStatus = Literal["ok", "modified", "missing", "new", "moved", "unreadable"]


@dataclass(frozen=True, slots=True)
class VerifyEntry:
    """One entry of a verification: a manifest entry, or a path found only on disk."""

    path: str
    """Path relative to the root, as in the manifest (``path_bytes`` holds non-UTF-8 names)."""
    path_bytes: str | None
    """Base64 of the exact name bytes when the name is not valid UTF-8."""
    status: VerifyStatus
    in_manifest: bool
    """True for a manifest entry; False for a path found only on disk (``new``, or unreadable)."""
    kind: Kind | None
    """Kind in the manifest (on disk for a path not in the manifest)."""
    expected: Mapping[str, JSONValue] = field(default_factory=dict)
    """What the manifest says: ``size``, ``hashes``, ``link_target`` ... (empty when not in it)."""
    actual: Mapping[str, JSONValue] = field(default_factory=dict)
    """What is on disk now (empty when missing or not read)."""
    changed: tuple[str, ...] = ()
    """For ``modified``: what differs: digest names, ``size``, ``kind``, ``link_target``, ``type``."""
    moved_to: str | None = None
    """For ``moved``: the new path of the same content."""
    moved_to_bytes: str | None = None
    problems: tuple[Problem, ...] = ()
    note: str | None = None
    """A plain-words remark (e.g. why an entry could not be checked)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "path_bytes": self.path_bytes,
            "status": self.status,
            "in_manifest": self.in_manifest,
            "kind": self.kind,
            "expected": dict(self.expected),
            "actual": dict(self.actual),
            "changed": list(self.changed),
            "moved_to": self.moved_to,
            "moved_to_bytes": self.moved_to_bytes,
            "problems": [p.to_dict() for p in self.problems],
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> VerifyEntry:
        return cls(
            path=d["path"],
            path_bytes=d.get("path_bytes"),
            status=d["status"],
            in_manifest=d["in_manifest"],
            kind=d.get("kind"),
            expected=dict(d.get("expected") or {}),
            actual=dict(d.get("actual") or {}),
            changed=tuple(d.get("changed") or ()),
            moved_to=d.get("moved_to"),
            moved_to_bytes=d.get("moved_to_bytes"),
            problems=tuple(Problem.from_dict(p) for p in d.get("problems") or ()),
            note=d.get("note"),
        )


def _rendered_record(cls: type[_T], values: tuple[Any, ...], rendered: Mapping[str, str]) -> _T:
    """Unpickle a record that carries its export text (see ``FileRecord.rendered``)."""
    record = cls(*values)
    object.__setattr__(record, "rendered", rendered)
    return record


def pickle_by_fields(cls: type[_T]) -> type[_T]:
    """Make a dataclass pickle as ``(class, field values)``.

    Records cross from the worker processes to the main process by pickle, one per
    file. The generic state of a slotted dataclass costs a Python loop over ``fields()``
    on both sides; this is one C-level attribute read when pickling and one constructor
    call when unpickling (half the time for a typical record, measured). Every field must
    be an ``__init__`` argument, except ``FileRecord.rendered`` (set after the record is
    made), which travels beside the values when it is set.
    """
    names = tuple(f.name for f in fields(cls) if f.init)  # type: ignore[arg-type]
    later = [f.name for f in fields(cls) if not f.init]  # type: ignore[arg-type]
    if later not in ([], ["rendered"]):
        raise TypeError(f"{cls.__name__}: a field outside __init__ cannot be pickled by value")
    get = operator.attrgetter(*names)
    single = len(names) == 1

    def __reduce__(self: _T) -> tuple[Any, tuple[Any, ...]]:
        values = get(self)
        if later and self.rendered is not None:  # type: ignore[attr-defined]
            return _rendered_record, (cls, values, self.rendered)  # type: ignore[attr-defined]
        return cls, ((values,) if single else values)

    cls.__reduce__ = __reduce__  # type: ignore[method-assign,assignment]
    return cls


for _cls in (Problem, Finding, Timestamp, GeoPoint, Device, Extraction, FileType, FileRecord, ScanInfo, VerifyEntry):
    pickle_by_fields(_cls)
