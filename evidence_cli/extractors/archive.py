"""Archives: what a ZIP or a TAR holds, each member named, dated, typed and hashed in
memory, never written out.

Evidence often arrives zipped: a WhatsApp export with its media, photos sent as one file,
a download from a cloud account. The archive's own digest proves the container; the
members' digests are what a hash set of known files, or another scan, is compared with.

For each member (central directory order, as stored), ``metadata.archive.members`` gives
its name, sizes, method, CRC, its modification time as the MS-DOS date the format keeps
(the local clock of the machine that made the archive, offset unknown) and, when an
extra field records it, the UTC time (NTFS 0x000A, else the extended timestamp 0x5455);
then, inflated in pieces (memory stays flat), its digests in the scan's algorithms, its
type (as the scan would type it as a file, from its first :data:`TYPE_HEAD` bytes) and
whether its name's extension fits that type. The first :data:`MAX_READ` members are read
by the metadata readers of their type, as the scan reads a file: a member's capture time,
GPS, device and image go on its entry, its findings and problems on the archive's record,
naming it; a chat export inside gives its tags (``chat``), its first and last message
times, and which of the attachments it names the archive holds.

Bounds (a zip is hostile input like any other): :data:`MAX_MEMBERS` members and a central
directory of :data:`MAX_CD_BYTES`; ``FileContext.archive_bytes`` inflated bytes hashed per
archive (``scan --archive-mib``, 256 MiB by default)
(members after it are listed, not hashed, and a problem says how many), which also
defuses zip bombs; :data:`MAX_TYPED` members typed. Encrypted members and methods we do not
inflate (stored, deflate, bzip2, LZMA and xz are) are listed with the reason they were not
hashed. Nested archives are listed and hashed like any member, never opened.

Findings: names that would be written outside the folder they are extracted to
(``archive-path-escape``), a local header naming a member otherwise than the central
directory (``archive-name-mismatch``: two tools would show two names), names stored twice
(``archive-duplicate-name``), bytes before or after the archive (``archive-extra-data``: a
self-extractor, or an archive appended to another file), encrypted members
(``archive-encrypted``), and members whose extension hides their type
(``member-extension-mismatch``). The earliest and latest member times are the
``MemberFirstModified`` and ``MemberLastModified`` timestamps; where members record both
clocks, their difference is the UTC offset of the machine that made the archive
(``clock_utc_offsets``).

A ZIP appended to a picture or a PDF (:data:`APPENDED_TYPES`: their last 64 KiB are
searched for a ZIP's end record, as unzip does) is listed the same way, with an
``archive-appended`` finding.

A TAR (plain, or gzip, bzip2 or xz; :mod:`evidence_cli.formats.tar`) gives the same
listing in its own terms: type, link target, mode, owner, and its UTC modification time;
a link that leads outside the extraction folder is an ``archive-path-escape`` too. It has
no directory: :data:`MAX_TAR_MEMBERS` headers are read at most, and a compressed one is
inflated for :data:`READ_LIMIT` bytes at most. A compressed file that holds no TAR is one
member, the file it compresses.
"""

from __future__ import annotations

import sys
import zlib
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, BinaryIO, Iterator

from evidence_cli import extractors, filetype
from evidence_cli.errors import UnsupportedFile
from evidence_cli.extractors import chat, pdq
from evidence_cli.extractors.base import FileContext, problem, register
from evidence_cli.formats import filename
from evidence_cli.formats import tar as tarfmt
from evidence_cli.formats import zip as zipfmt
from evidence_cli.formats.zip import ArchiveDamage, Member, Reader, ZipDamage
from evidence_cli.hashing import ALGORITHMS
from evidence_cli.models import ARCHIVE_GROUP, Extraction, FileType, Finding, Problem, Timestamp
from evidence_cli.timeparse import iso_utc
from evidence_cli.walker import display_path

NAME = ARCHIVE_GROUP

#: Types a ZIP is appended to, to hide it (the archive reader looks at their last 64 KiB).
APPENDED_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/x-ms-bmp", "application/pdf"}
)
MIME_TYPES = zipfmt.MIME_TYPES | tarfmt.MIME_TYPES | APPENDED_TYPES
#: The end of a file an appended ZIP's end record must lie in (its comment is 64 KiB at most).
EOCD_TAIL = zipfmt.EOCD_SEARCH

MAX_MEMBERS = 100_000
#: A TAR has no directory: its headers are read one by one (about 50 µs each here).
MAX_TAR_MEMBERS = 50_000
MAX_CD_BYTES = 32 * 1024 * 1024
#: Inflated bytes of a compressed TAR read to list its members (a TAR has no directory:
#: listing it is reading it; an uncompressed one is listed by seeking past the members),
#: or twice the hashing budget (``FileContext.archive_bytes``) when that is larger.
READ_LIMIT = 512 * 1024 * 1024
#: The most a member without recorded sizes is inflated to find where it ends, when a
#: damaged ZIP is walked by its local headers.
MAX_UNSIZED = 256 * 1024 * 1024
#: Members typed per archive (libmagic takes up to a millisecond for some).
MAX_TYPED = 1_000
#: The bytes of a member its type is read from: as many as the scan types a file from
#: (``hashing.hash_fd``'s ``head_size``), so that a member is typed as the same file would be.
TYPE_HEAD = 64 * 1024
#: Names shown in a finding's evidence.
SHOWN = 10
#: The largest chat export member read as a chat (the chat reader takes about 9 MB/s).
MAX_CHAT = 16 * 1024 * 1024
#: Members the metadata readers read, per archive, and the largest one they read.
MAX_READ = 200
MAX_READ_BYTES = 64 * 1024 * 1024
#: Readers never run on a member: this one (archives inside are not opened), the file's
#: own (its stat is the archive's) and the name's (read for every member, not only the
#: first MAX_READ: see _Listing.add).
NOT_ON_MEMBERS = frozenset({NAME, "filesystem", filename.SOURCE})
#: With --pdq, the pixels of members' pictures decoded for their PDQ hashes, per archive:
#: this many for each second of the scan's --timeout (the whole archive's reading has to
#: fit in it). Decoding takes about 50 ms a megapixel here, so 6 megapixels a second use
#: about a third of it; at the default 5 s, 30 megapixels: fifteen 2-megapixel pictures
#: as messaging apps send them, or two 12-megapixel photos. No --timeout: no bound.
PDQ_PIXELS_PER_SECOND = 6_000_000


#: The digests of no bytes.
_EMPTY = {a: make().hexdigest() for a, make in ALGORITHMS.items()}


def _iso(dt: datetime) -> str:
    return dt.isoformat()


def escapes(name: str) -> bool:
    """Would extracting this name write outside the folder it is extracted to? An absolute
    path, a drive letter or UNC path, or a ``..`` component (with either separator)."""
    if name.startswith(("/", "\\")) or (len(name) >= 2 and name[1] == ":" and name[0].isalpha()):
        return True
    return ".." in name.replace("\\", "/").split("/")


def _offset(local: datetime, utc: datetime) -> int | None:
    """Minutes east of UTC the archiving machine's clock was, when the member's two times
    differ by a whole quarter hour (give or take the DOS time's two seconds), else None."""
    delta = local - utc.astimezone(timezone.utc).replace(tzinfo=None)
    minutes = round(delta.total_seconds() / 60)
    if abs(delta.total_seconds() - minutes * 60) > 2 or minutes % 15 or abs(minutes) > 14 * 60:
        return None
    return minutes


class _Hasher:
    """Hashes the members within the archive's budget, types the first ones and has the
    metadata readers read the first of those; keeps what the archive's record says of them."""

    def __init__(self, r: Reader | None, algorithms: tuple[str, ...], ctx: FileContext) -> None:
        self.r = r
        self.ctx = ctx
        self.chats: list[tuple[int, str, Extraction]] = []
        self.read = 0
        self.member_problems: list[Problem] = []
        self.member_findings: list[Finding] = []
        self.algorithms = tuple(a for a in algorithms if a in ALGORITHMS)
        #: What may still be hashed; the budget's text for messages.
        self.budget = ctx.archive_bytes if ctx.archive_bytes is not None else sys.maxsize
        n = ctx.archive_bytes or 0
        shown = f"{n // (1024 * 1024)} MiB" if n % (1024 * 1024) == 0 else f"{n} bytes"
        self.over = f"over the {shown} hashed per archive"
        self.over_budget = 0
        self.hashed = 0
        self.typed = 0
        self.untyped = 0
        self.damaged = 0
        self.unread = 0
        self.mismatched_names: list[str] = []
        self.wrong_extension: list[str] = []
        #: Pixels that may still be decoded for members' PDQ hashes (None: no bound).
        self.pixels = None if ctx.timeout is None else int(ctx.timeout * PDQ_PIXELS_PER_SECOND)
        self.pixels_over = 0
        self.pixels_unknown = 0

    def member(self, i: int, m: Member, entry: dict[str, Any]) -> None:
        if m.is_dir:
            return
        if m.encrypted:
            entry["not_hashed"] = "encrypted"
            self.unread += 1
            return
        if m.method not in zipfmt.READABLE_METHODS:
            entry["not_hashed"] = f"compression method {zipfmt.METHODS.get(m.method, m.method)} not read"
            self.unread += 1
            return
        if m.usize > self.budget:
            entry["not_hashed"] = self.over
            self.over_budget += 1
            return
        assert self.r is not None
        try:
            start, local_name = zipfmt.data_start(self.r, m)
        except ArchiveDamage as exc:
            entry["not_hashed"] = str(exc).removeprefix(f"{m.name}: ")
            self.damaged += 1
            return
        if local_name != m.name_raw:
            self.mismatched_names.append(m.name)
            entry["local_name"] = zipfmt.decode_name(local_name, m.flags)
        # Never more than the entry records: a member that inflates past it is damaged
        # or a bomb, and is not read on.
        self.take(i, m.name, entry, zipfmt.member_chunks(self.r, m, start, m.usize), m.usize, m.crc)

    def empty(self, entry: dict[str, Any]) -> None:
        """An empty member: its digests, and the type the scan gives an empty file."""
        self.hashed += 1
        for a in self.algorithms:
            entry[a] = _EMPTY[a]
        entry["mime"], entry["description"] = "inode/x-empty", "empty"

    def take(
        self, i: int, name: str, entry: dict[str, Any], chunks: Iterator[bytes], size: int | None, crc: int | None
    ) -> None:
        """Hash the member's bytes (``chunks``), check them against the ``size`` and CRC its
        entry records (None: not recorded), type it and read it."""
        digests = [ALGORITHMS[a]() for a in self.algorithms]
        got_crc = got = 0
        head = bytearray()
        want_head = self.typed < MAX_TYPED
        # Kept whole to be read by the metadata readers, as the scan reads a file.
        keep = want_head and self.read < MAX_READ and (size if size is not None else 0) <= MAX_READ_BYTES
        whole: bytearray | None = bytearray() if keep else None
        try:
            for piece in chunks:
                for d in digests:
                    d.update(piece)
                got_crc = zlib.crc32(piece, got_crc)
                got += len(piece)
                if got > self.budget:
                    raise ArchiveDamage(self.over)
                if want_head and len(head) < TYPE_HEAD:
                    head += piece[: TYPE_HEAD - len(head)]
                if whole is not None:
                    whole += piece
                    if len(whole) > MAX_READ_BYTES:
                        whole = None
        except ArchiveDamage as exc:
            why = str(exc).removeprefix(f"{name}: ")
            if why.startswith("inflates to more than"):
                why = f"inflates to more than the {size} bytes its entry records: not read"
            entry["not_hashed"] = why
            if why.startswith("over the"):
                self.over_budget += 1
            else:
                self.damaged += 1
            return
        self.budget -= got
        self.hashed += 1
        if size is None:
            entry["size"] = got
        for a, d in zip(self.algorithms, digests):
            entry[a] = d.hexdigest()
        if size is not None and got != size:
            entry["damaged"] = f"inflates to {got} bytes, not the {size} recorded"
            self.damaged += 1
        elif crc is not None and got_crc != crc:
            entry["damaged"] = "CRC mismatch"
            self.damaged += 1
        if want_head:
            self.typed += 1
            ft = self._type(name, bytes(head), entry)
            if ft is not None and whole is not None:
                self._read_member(i, name, ft, bytes(whole), entry)
        else:
            self.untyped += 1

    def _read_member(self, i: int, name: str, ft: FileType, content: bytes, entry: dict[str, Any]) -> None:
        """The metadata readers of the member's type on its bytes, as the scan runs them on
        a file: its capture time, GPS, device, image and a chat export's tags go on its
        entry; its findings and problems, and a chat's first and last message times, on
        the archive's record, naming the member."""
        readers = [e for e in extractors.for_type(ft.mime) if e.name not in NOT_ON_MEMBERS]
        if not readers:
            return
        if ft.mime in chat.ChatExtractor.mime_types and len(content) > MAX_CHAT:
            return
        self.read += 1
        member_ctx = FileContext(
            path=self.ctx.path,
            rel_path=f"{self.ctx.rel_path} (member {name})",
            stat=self.ctx.stat,
            file_type=ft,
            head=content[:TYPE_HEAD],
            content=content,
            algorithms=self.ctx.algorithms,
            pdq=self.ctx.pdq,
        )
        read: list[Extraction] = []
        for reader in readers:
            if reader.name == pdq.NAME and not self._may_decode(read):
                continue
            try:
                read.append(reader.extract(member_ctx))
            except UnsupportedFile as exc:
                self.member_problems.append(problem(NAME, f"member {name}: not readable as {reader.name}: {exc}"))
            except Exception as exc:  # noqa: BLE001 - one member's reader never loses the archive's record
                self.member_problems.append(
                    problem(NAME, f"member {name}: {reader.name}: {type(exc).__name__}: {exc}", severity="error")
                )
        _summary(read, entry)
        pixel_hash = next((found.tags for found in read if found.extractor == pdq.NAME and found.tags), None)
        if pixel_hash is not None:
            entry["pdq"] = {k: pixel_hash[k] for k in ("hash", "quality", "turned") if k in pixel_hash}
        for found in read:
            if found.extractor == chat.NAME and found.tags:
                entry["chat"] = dict(found.tags)
                self.chats.append((i, name, found))
            self.member_problems.extend(replace(p, message=f"member {name}: {p.message}") for p in found.problems)
            self.member_findings.extend(replace(f, message=f"member {name}: {f.message}") for f in found.findings)
        if any(found.findings for found in read):
            entry["findings"] = sorted({f.code for found in read for f in found.findings})

    def _may_decode(self, read: list[Extraction]) -> bool:
        """Whether this member's picture, of the size its image reader found, may still be
        decoded for its PDQ hash (with --pdq); it is counted when it may not."""
        if not self.ctx.pdq or self.pixels is None:
            return True
        image = next((found.image for found in read if found.image is not None), None)
        width, height = (image or {}).get("width"), (image or {}).get("height")
        if not isinstance(width, int) or not isinstance(height, int) or width <= 0 or height <= 0:
            self.pixels_unknown += 1  # (a damaged header: the decoder could be asked for anything)
            return False
        if width * height <= self.pixels:
            self.pixels -= width * height
            return True
        self.pixels_over += 1
        return False

    def _type(self, name: str, head: bytes, entry: dict[str, Any]) -> FileType | None:
        try:
            ft = filetype.detect_type(name.replace("\\", "/").rsplit("/", 1)[-1], head)
        except Exception:  # noqa: BLE001 - (libmagic missing or failing): the member stays untyped
            self.untyped += 1
            self.typed -= 1
            return None
        if ft.mime is not None:
            entry["mime"] = ft.mime
        if ft.description is not None:
            entry["description"] = ft.description
        if ft.extension_ok is not None:
            entry["extension_ok"] = ft.extension_ok
            if ft.extension_ok is False:
                self.wrong_extension.append(name)
        return ft


def _attachments(entry: dict[str, Any], folder: str, members: set[str]) -> None:
    """Which of the attachments a zipped chat names are in the archive, under the chat's
    folder (WhatsApp zips its media beside ``_chat.txt``; Telegram and Meta name paths
    such as ``photos/x.jpg`` from it), and which are not: to ask for. A name that climbs
    out with ``..`` is not looked for."""
    named = entry["chat"].get("attachment_names")
    if not isinstance(named, list) or not named:
        return

    def inside(name: object) -> bool:
        if not isinstance(name, str):
            return False
        parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
        return ".." not in parts and "/".join([folder, *parts] if folder else parts) in members

    missing = [n for n in named if not inside(n)]
    entry["chat_attachments_in_archive"] = len(named) - len(missing)
    if missing:
        entry["chat_attachments_missing"] = missing


def _summary(read: list[Extraction], entry: dict[str, Any]) -> None:
    """What the scan's table gives a file, for a member: capture time, GPS, device, image."""
    from evidence_cli.scanner import merge_device, merge_gps, pick_captured

    captured = pick_captured([t for found in read for t in found.timestamps])
    if captured is not None:
        entry["captured"] = {k: v for k, v in captured.to_dict().items() if k != "raw"}
    gps = merge_gps([found.gps for found in read if found.gps is not None])
    if gps is not None:
        entry["gps"] = {k: v for k, v in gps.to_dict().items() if k != "raw" and v is not None}
    devices = [found.device for found in read if found.device is not None]
    if devices:
        device = merge_device(devices)
        if not device.is_empty():
            entry["device"] = {k: v for k, v in device.to_dict().items() if v is not None}
    image = next((found.image for found in read if found.image is not None), None)
    if image is not None:
        entry["image"] = dict(image)


def climbs_out(folder: str, target: str) -> bool:
    """Does a link's ``target``, resolved from ``folder``, lead outside the archive's root
    (absolute, a drive, or more ``..`` than folders above it)?"""
    if escapes(target) and (target.startswith(("/", "\\")) or (len(target) >= 2 and target[1] == ":")):
        return True
    depth = 0
    for part in [p for p in folder.split("/") if p] + target.replace("\\", "/").split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


class _Listing:
    """What the archive's record says of its members, in their order, whatever the format."""

    def __init__(self, hasher: _Hasher) -> None:
        self.hasher = hasher
        self.listed: list[dict[str, Any]] = []
        self.names: list[str] = []
        self.seen: set[str] = set()
        self.duplicates: list[str] = []
        self.escaping: list[str] = []
        self.encrypted = 0
        self.files = 0
        #: (ordering key, index, value, UTC time, raw) of the earliest and latest member times.
        self.first: tuple[datetime, int, str, datetime | None, str] | None = None
        self.last: tuple[datetime, int, str, datetime | None, str] | None = None

    def add(
        self,
        entry: dict[str, Any],
        name: str,
        is_dir: bool,
        key: datetime | None,
        value: str | None,
        utc: datetime | None,
        raw: str,
    ) -> None:
        """A member's entry; ``key`` orders its time (``value`` as stored, its ``utc``)."""
        i = len(self.listed)
        self.listed.append(entry)
        self.names.append(name)
        if name in self.seen:
            self.duplicates.append(name)
        self.seen.add(name)
        if escapes(name):
            self.escaping.append(name)
        if is_dir:
            return
        self.files += 1
        named = filename.parse_path(name)
        if named is not None:
            t = named.timestamp
            entry["name_time"] = {
                "name": t.name,
                "value": t.value,
                "utc": t.utc,
                "pattern": named.pattern,
                "app": named.app,
            }
            if "folder_says" in named.details:
                entry["name_time"]["folder_says"] = named.details["folder_says"]
        if key is not None and value is not None:
            stamp = (key, i, value, utc, raw)
            if self.first is None or key < self.first[0]:
                self.first = stamp
            if self.last is None or key > self.last[0]:
                self.last = stamp

    def extraction(self, tags: dict[str, Any], problems: list[Problem]) -> Extraction:
        hasher = self.hasher
        tags["member_count"] = len(self.listed)
        tags["files"] = self.files
        tags["hashed"] = hasher.hashed
        tags["members"] = self.listed
        if hasher.over_budget:
            problems.append(
                problem(
                    NAME,
                    f"{hasher.over_budget} member(s) listed but not hashed: {hasher.over} "
                    "(scan --archive-mib raises it)",
                    type="LimitReached",
                )
            )
        if hasher.untyped:
            problems.append(
                problem(
                    NAME, f"{hasher.untyped} member(s) hashed but not typed (over {MAX_TYPED})", type="LimitReached"
                )
            )
        if hasher.pixels_over:
            problems.append(
                problem(
                    NAME,
                    f"{hasher.pixels_over} picture member(s) not PDQ-hashed: over the "
                    f"{PDQ_PIXELS_PER_SECOND // 1_000_000} megapixels decoded per second of --timeout "
                    "(a larger --timeout raises it)",
                    type="LimitReached",
                )
            )
        if hasher.pixels_unknown:
            problems.append(
                problem(
                    NAME,
                    f"{hasher.pixels_unknown} picture member(s) not PDQ-hashed: their size could not be read",
                    type="Unsupported",
                )
            )
        if hasher.damaged:
            problems.append(problem(NAME, f"{hasher.damaged} member(s) damaged (see members)", type="ArchiveDamage"))
        if hasher.unread:
            problems.append(
                problem(
                    NAME,
                    f"{hasher.unread} member(s) encrypted or compressed by a method not read: not hashed",
                    severity="warning",
                    type="Unsupported",
                )
            )
        findings = _findings(tags, self.duplicates, self.escaping, hasher, self.encrypted)
        timestamps: list[Timestamp] = []
        for name, found in (("MemberFirstModified", self.first), ("MemberLastModified", self.last)):
            if found is not None:
                _, _, value, utc, raw = found
                timestamps.append(
                    Timestamp(
                        name=name,
                        source=NAME,
                        value=value,
                        utc=iso_utc(utc) if utc is not None else None,
                        raw=raw,
                        offset_origin="utc-by-spec" if utc is not None else "none",
                    )
                )
        names = {n.replace("\\", "/") for n in self.names} if hasher.chats else set()
        for i, member, read in hasher.chats:
            _attachments(self.listed[i], member.replace("\\", "/").rpartition("/")[0], names)
            timestamps.extend(replace(t, source=NAME, raw=f"member {i}: {t.raw}") for t in read.timestamps)
        problems.extend(replace(p, stage=f"metadata:{NAME}") for p in hasher.member_problems)
        clashes = [clash for entry in self.listed if (clash := _name_conflict(entry)) is not None]
        return Extraction(
            extractor=NAME,
            group=NAME,
            tags=tags,
            timestamps=tuple(timestamps),
            problems=tuple(problems),
            findings=findings + tuple(hasher.member_findings) + tuple(clashes),
        )


def _name_conflict(entry: dict[str, Any]) -> Finding | None:
    """The ``name-date-conflict`` finding of a member whose name's time and capture time
    cannot both be right (as the scanner finds it for a file); its code on the entry."""
    named, shot = entry.get("name_time"), entry.get("captured")
    if named is None or shot is None:
        return None
    found = filename.conflict(
        Timestamp(named["name"], filename.SOURCE, named["value"], named["utc"], ""),
        Timestamp.from_dict({**shot, "raw": ""}),
    )
    if found is None:
        return None
    name = entry["name"]
    entry["findings"] = sorted({*entry.get("findings", ()), filename.CONFLICT})
    return Finding(
        filename.CONFLICT, "notice", f"member {name}: {filename.conflict_message(found)}", {**found, "member": name}
    )


def _members(r: Reader) -> tuple[list[Member] | None, dict[str, Any], list[Problem]]:
    """The members (None: more than the bounds allow), the archive's tags, problems."""
    tags: dict[str, Any] = {"format": "ZIP"}
    problems: list[Problem] = []
    try:
        directory = zipfmt.read_directory(r, max_members=MAX_MEMBERS, max_cd_bytes=MAX_CD_BYTES)
    except ZipDamage as exc:
        if "members (over" in str(exc) or "central directory of" in str(exc):
            problems.append(problem(NAME, f"{exc}", type="LimitReached"))
            return None, tags, problems
        members, why = zipfmt.walk_local_headers(r, max_members=MAX_MEMBERS, max_unsized=MAX_UNSIZED)
        problems.append(
            problem(NAME, f"{exc}; {len(members)} member(s) found by walking local headers", type="ZipDamage")
        )
        if why:
            problems.append(problem(NAME, why, type="ZipDamage"))
        tags["central_directory"] = False
        return members, tags, problems
    if directory.comment:
        tags["comment"] = zipfmt.decode_name(directory.comment, 0)
    if directory.declared != len(directory.members):
        tags["declared_members"] = directory.declared
        problems.append(
            problem(
                NAME,
                f"the end record declares {directory.declared} members, the central directory lists "
                f"{len(directory.members)}",
                type="ZipDamage",
            )
        )
    if 0 < directory.prepended < r.size:
        tags["prepended_bytes"] = directory.prepended
    if directory.trailing:
        tags["trailing_bytes"] = directory.trailing
    return directory.members, tags, problems


def _overlaps(members: list[Member]) -> int:
    """How many members' data (as the central directory sizes it) runs into the next
    member's local header: the structure of an overlapping zip bomb, or damage."""
    spans = sorted((m.offset, m.offset + 30 + len(m.name_raw) + m.csize) for m in members)
    return sum(1 for (_, end), (nxt, _) in zip(spans, spans[1:]) if end > nxt)


@register
class ArchiveExtractor:
    name = NAME
    description = (
        "ZIP and TAR archives (and gzip, bzip2, xz files; a ZIP appended to a picture or a PDF): each "
        "member's name, times, type, digests and metadata, read in memory, never written out"
    )
    mime_types = MIME_TYPES

    def extract(self, ctx: FileContext) -> Extraction:
        if ctx.file_type.mime in tarfmt.MIME_TYPES:
            with ctx.open() as fh:
                return self._tar(ctx, fh)
        appended = ctx.file_type.mime in APPENDED_TYPES
        if (
            appended
            and ctx.content is not None
            and ctx.content.rfind(zipfmt.SIG_EOCD, max(0, ctx.size - EOCD_TAIL)) < 0
        ):
            return Extraction(extractor=NAME, group=NAME)  # (most pictures: a search, no copy)
        if ctx.content is not None:
            r = Reader(ctx.content, None, len(ctx.content))
            return self._appended(ctx, r) if appended else self._run(ctx, r)
        with ctx.open() as fh:
            r = Reader(None, fh, ctx.size)
            return self._appended(ctx, r) if appended else self._run(ctx, r)

    def _appended(self, ctx: FileContext, r: Reader) -> Extraction:
        """A ZIP appended to a picture or a PDF (``cat photo.jpg secret.zip``: the picture
        still opens, and unzip still finds the archive at the end): listed as any ZIP, with
        an ``archive-appended`` finding. Nothing (no tags, no problem) when the file ends in
        no readable central directory: then it is only what its type says."""
        tail = r.read(max(0, r.size - EOCD_TAIL), EOCD_TAIL)
        if zipfmt.SIG_EOCD not in tail:
            return Extraction(extractor=NAME, group=NAME)
        try:
            directory = zipfmt.read_directory(r, max_members=MAX_MEMBERS, max_cd_bytes=MAX_CD_BYTES)
        except ZipDamage:
            return Extraction(extractor=NAME, group=NAME)
        if not directory.members or directory.prepended <= 0:
            return Extraction(extractor=NAME, group=NAME)
        found = self._run(ctx, r)
        kind = "PDF" if ctx.file_type.mime == "application/pdf" else "picture"
        finding = Finding(
            "archive-appended",
            "notice",
            f"a ZIP archive of {len(directory.members)} member(s) is appended to this {kind}, from byte "
            f"{directory.prepended}: the {kind} opens as usual, and the archive is there for whoever looks "
            "(its members are listed in metadata.archive)",
            {"members": len(directory.members), "offset": directory.prepended},
        )
        # Bytes before the archive are the picture itself: said by this finding, not as extra data.
        rest = tuple(f for f in found.findings if f.code != "archive-extra-data")
        return replace(found, findings=(finding, *rest))

    def _run(self, ctx: FileContext, r: Reader) -> Extraction:
        members, tags, problems = _members(r)
        if members is None:
            return Extraction(extractor=NAME, group=NAME, tags=tags, problems=tuple(problems))
        listing = _Listing(_Hasher(r, ctx.algorithms, ctx))
        hosts: set[str] = set()
        offsets: set[int] = set()
        for i, m in enumerate(members):
            modified = zipfmt.dos_datetime(m.dos_date, m.dos_time)
            entry: dict[str, Any] = {
                "name": m.name,
                "size": m.usize,
                "compressed": m.csize,
                "method": zipfmt.METHODS.get(m.method, str(m.method)),
                "crc32": f"{m.crc:08x}",
                "modified": _iso(modified) if modified is not None else None,
            }
            utc = zipfmt.utc_modified(m.extra)
            if utc is not None:
                entry["modified_utc"] = iso_utc(utc)
                if modified is not None and (minutes := _offset(modified, utc)) is not None:
                    offsets.add(minutes)
            if m.is_dir:
                entry["directory"] = True
            if m.encrypted:
                entry["encrypted"] = True
                listing.encrypted += 1
            if m.comment:
                entry["comment"] = zipfmt.decode_name(m.comment, m.flags)
            if m.made_by >> 8 in zipfmt.HOSTS and m.made_by:
                hosts.add(zipfmt.HOSTS[m.made_by >> 8])
            raw = f"member {i}: DOS date 0x{m.dos_date:04x}, time 0x{m.dos_time:04x}"
            listing.add(entry, m.name, m.is_dir, modified, entry["modified"], utc, raw)
            listing.hasher.member(i, m, entry)
        if hosts:
            tags["made_by"] = sorted(hosts)
        if offsets:
            tags["clock_utc_offsets"] = [
                f"{'+' if o >= 0 else '-'}{abs(o) // 60:02d}:{abs(o) % 60:02d}" for o in sorted(offsets)[:10]
            ]
        overlapping = _overlaps(members)
        if overlapping:
            problems.append(
                problem(NAME, f"{overlapping} member(s) overlap the next one (an overlapping zip bomb, or damage)")
            )
        return listing.extraction(tags, problems)

    def _tar(self, ctx: FileContext, fh: BinaryIO) -> Extraction:
        kind = tarfmt.compression(ctx.head)
        tags: dict[str, Any] = {"format": "TAR"}
        if kind is not None:
            tags["compression"] = kind
        problems: list[Problem] = []
        listing = _Listing(_Hasher(None, ctx.algorithms, ctx))
        try:
            budget = ctx.archive_bytes
            limit = None if kind is None or budget is None else max(READ_LIMIT, 2 * budget)
            tar = tarfmt.open_tar(tarfmt.decompressed(fh, kind), limit)
            if tar is None:
                if kind is None:
                    problems.append(problem(NAME, "not a TAR archive", type="ArchiveDamage"))
                    return Extraction(extractor=NAME, group=NAME, problems=tuple(problems))
                fh.seek(0)
                return self._compressed_file(ctx, fh, kind, listing)
            for i, ti in enumerate(tarfmt.members(tar, MAX_TAR_MEMBERS)):
                name = tarfmt.member_name(ti)
                entry: dict[str, Any] = {"name": name, "size": ti.size}
                if ti.type in tarfmt.KINDS:
                    entry["type"] = tarfmt.KINDS[ti.type]
                elif not ti.isreg():
                    entry["type"] = f"type {ti.type!r}"
                entry["mode"] = f"{ti.mode & 0o7777:04o}"
                entry["uid"], entry["gid"] = ti.uid, ti.gid
                if ti.uname:
                    entry["user"] = ti.uname
                if ti.gname:
                    entry["group"] = ti.gname
                utc = tarfmt.modified(ti)
                entry["modified"] = iso_utc(utc) if utc is not None else None
                if utc is not None:
                    entry["modified_utc"] = entry["modified"]
                if ti.issym() or ti.islnk():
                    entry["link"] = tarfmt.link_name(ti)
                    # A symbolic link is resolved from its folder, a hard link from the root.
                    folder = name.rpartition("/")[0] if ti.issym() else ""
                    if climbs_out(folder, entry["link"]):
                        listing.escaping.append(f"{name} -> {entry['link']}")
                key = utc.astimezone(timezone.utc).replace(tzinfo=None) if utc is not None else None
                value = utc.isoformat() if utc is not None else None
                listing.add(entry, name, ti.isdir(), key, value, utc, f"member {i}: mtime {ti.mtime}")
                if ti.isreg():
                    if ti.size == 0:  # (a phone's file system holds thousands of empty files)
                        listing.hasher.empty(entry)
                    elif ti.size > listing.hasher.budget:
                        entry["not_hashed"] = listing.hasher.over
                        listing.hasher.over_budget += 1
                    else:
                        listing.hasher.take(i, name, entry, tarfmt.member_chunks(tar, ti), ti.size, None)
        except ArchiveDamage as exc:
            limit = "goes on past" in str(exc) or "more than" in str(exc)
            problems.append(problem(NAME, str(exc), type="LimitReached" if limit else "ArchiveDamage"))
        return listing.extraction(tags, problems)

    def _compressed_file(self, ctx: FileContext, fh: BinaryIO, kind: str, listing: _Listing) -> Extraction:
        """A compressed file that holds no TAR: one member, the file it compresses."""
        stored = tarfmt.gzip_name(ctx.head) if kind == "gzip" else None
        base = ctx.rel_path.rsplit("/", 1)[-1]
        stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
        name = display_path(stored)[0] if stored else stem
        entry: dict[str, Any] = {"name": name}
        if stored is None:
            entry["name_from"] = "the archive's name"
        listing.add(entry, name, False, None, None, None, "")
        listing.hasher.take(0, name, entry, tarfmt.stream_chunks(tarfmt.decompressed(fh, kind)), None, None)
        tags: dict[str, Any] = {"format": kind}
        return listing.extraction(tags, [])


def _findings(
    tags: dict[str, Any], duplicates: list[str], escaping: list[str], hasher: _Hasher, encrypted: int
) -> tuple[Finding, ...]:
    out: list[Finding] = []
    if escaping:
        out.append(
            Finding(
                "archive-path-escape",
                "notice",
                f"{len(escaping)} member name(s) would be written outside the folder the archive is extracted to "
                "(an absolute path or '..'): extract it with a tool that refuses them",
                {"count": len(escaping), "names": escaping[:SHOWN]},
            )
        )
    if hasher.mismatched_names:
        out.append(
            Finding(
                "archive-name-mismatch",
                "notice",
                f"{len(hasher.mismatched_names)} member(s) named otherwise in their local header than in the central "
                "directory: tools that read one or the other show different names",
                {"count": len(hasher.mismatched_names), "names": hasher.mismatched_names[:SHOWN]},
            )
        )
    if duplicates:
        out.append(
            Finding(
                "archive-duplicate-name",
                "notice",
                f"{len(duplicates)} member name(s) stored more than once: extracting keeps only one of them",
                {"count": len(duplicates), "names": duplicates[:SHOWN]},
            )
        )
    extra: dict[str, Any] = {k: tags[k] for k in ("prepended_bytes", "trailing_bytes") if k in tags}
    if extra:
        out.append(
            Finding(
                "archive-extra-data",
                "info",
                "bytes before or after the archive"
                + (f" ({extra.get('prepended_bytes', 0)} before, {extra.get('trailing_bytes', 0)} after)")
                + ": a self-extractor, an archive appended to another file, or data hidden beside it",
                extra,
            )
        )
    if encrypted:
        out.append(
            Finding(
                "archive-encrypted",
                "info",
                f"{encrypted} member(s) encrypted: their names and sizes are listed, their content is not read",
                {"count": encrypted},
            )
        )
    if hasher.wrong_extension:
        out.append(
            Finding(
                "member-extension-mismatch",
                "notice",
                f"{len(hasher.wrong_extension)} member(s) whose extension does not fit what they are",
                {"count": len(hasher.wrong_extension), "names": hasher.wrong_extension[:SHOWN]},
            )
        )
    return tuple(out)
