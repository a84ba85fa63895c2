"""Chat exports: WhatsApp's text ("Export chat": ``_chat.txt``), Telegram Desktop's JSON
(``result.json``) and Meta's download of Instagram or Messenger messages (``message_1.json``).

Sextortion and harassment cases turn on chat logs, and victims hand them over as these
exports. The reader says what an examiner needs first: that the text is a WhatsApp
export and from which phone's layout, who wrote how many messages, the first and the
last message's times, how many are system lines, deleted messages or media left out of
the export, and which attachments it names (to find beside it, or to ask for).

Both layouts are read, in every date form WhatsApp writes:

- iOS: ``[01/05/2019, 13:40:55] Sam: text`` (``[5/1/19, 1:40:55 PM]`` in US English);
- Android: ``01/05/2019, 13:40 - Sam: text`` (``5/1/19, 1:40 PM - ``, ``01.05.19, 13:40 - ``).

A line that does not start like a message continues the message above it.

**Times.** They are the phone's clock readings at export, in its time zone then, which the
file does not give: they are local times, their offset unknown (``utc`` is never set).
Whether ``01/05/2019`` is the 1st of May or the 5th of January depends on the phone's
language: it is decided from the file (a first number over 12 is a day, a second one over
12 is a day; a four-digit first number is a year). When no date decides it, the order is
``ambiguous`` and no time is put on the record (the first and last lines' own text is
kept): 5 January and 1 May must not be confused in a court.

**JSON exports** carry their times in UTC: Telegram gives each message's local ``date``
and its ``date_unixtime``, Meta's ``timestamp_ms``; their first and last messages get UTC
timestamps (``utc-by-spec``), and Telegram's local dates say the exporting computer's
offset. They are read item by item (:class:`~evidence_cli.jsonstream.ObjectReader`), so a
chat of millions of messages never sits in memory whole. Meta writes text as UTF-8 bytes
each escaped as a character (``Ã©`` for ``é``); names are mended back.

Only the file is read, at most :data:`MAX_BYTES`; the text is never kept (message counts
and names only).
"""

from __future__ import annotations

import io
import re
from array import array
from collections import Counter, deque
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator, Mapping

from evidence_cli.extractors.base import FileContext, problem, register
from evidence_cli.jsonstream import JsonStreamError, ObjectReader
from evidence_cli.models import Extraction, Finding, JSONValue, Problem, Timestamp

NAME = "chat"
#: Bytes of an export read (years of messages are tens of megabytes).
MAX_BYTES = 256 * 1024 * 1024
#: Participants listed by name (the busiest first); the rest are counted.
MAX_PARTICIPANTS = 50
#: Attachment names listed.
MAX_ATTACHMENTS = 1000
#: Longest line read at once (a longer one is read in pieces).
MAX_LINE = 1024 * 1024
#: Longest sender name kept (a line of a forged export may be anything).
MAX_NAME = 200
#: Distinct senders counted one by one (a channel's export may have thousands); the rest together.
MAX_SENDERS = 10_000
#: Characters one message of a JSON export may take (a hostile file cannot be held whole).
MAX_JSON_VALUE = 16 * 1024 * 1024

#: The start of a message line: date, time, optional AM/PM, then ``] `` (iOS) or `` - ``.
#: WhatsApp puts a left-to-right mark (U+200E) before some lines, and a narrow no-break
#: space (U+202F) before AM/PM.
_MESSAGE = re.compile(
    r"\u200e?(?P<bracket>\[)?"
    r"(?P<when>(?P<a>\d{1,4})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4}),?[ \u00a0]"
    r"(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?:[:.](?P<s>\d{2}))?"
    r"(?:[ \u00a0\u202f]?(?P<ampm>[AaPp])\.?[ \u00a0\u202f]?[Mm]\.?)?)"
    r"(?(bracket)\][ \u00a0]|[ \u00a0][-\u2013][ \u00a0])(?P<rest>.*)"
)
#: Media the export left out ("Export without media"), lower case.
_OMITTED = (
    "<media omitted>",
    "<m\u00e9dias omis>",
    "<medien ausgeschlossen>",
    "image omitted",
    "video omitted",
    "audio omitted",
    "sticker omitted",
    "gif omitted",
    "document omitted",
)
_DELETED = ("This message was deleted", "You deleted this message")
_IOS_ATTACHED = re.compile(r"<attached: (?P<name>[^>]{1,255})>")
_ANDROID_ATTACHED_END = (" (file attached)", " (Datei angeh\u00e4ngt)")
_ANDROID_ATTACHED = re.compile(r"(?P<name>[^\s/\\][^/\\]{0,254}?) \((?:file attached|Datei angeh\u00e4ngt)\)$")


#: What an export's first line starts with: a digit, ``[`` or a left-to-right mark.
_STARTS = frozenset(b"0123456789[\xe2")


def _first_line(head: bytes) -> str | None:
    """The first line of text, or None when it cannot start a message (checked on the
    bytes first: most text files are no chat, and a scan meets thousands of them)."""
    head = head[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head or head[0] not in _STARTS:
        return None
    return head.partition(b"\n")[0].decode("utf-8", "replace")


class _Counts:
    """What every kind of export is counted for."""

    def __init__(self, app: str, layout: str) -> None:
        self.app, self.layout = app, layout
        self.messages = 0
        self.system = 0
        self.senders: Counter[str] = Counter()
        self.others = 0
        """Messages of senders past the MAX_SENDERS counted one by one."""
        self.omitted = 0
        self.deleted = 0
        self.attachments: list[str] = []
        self.attachment_count = 0

    def sender(self, name: Any) -> None:
        if not isinstance(name, str):
            name = "(no name)"
        name = name[:MAX_NAME]
        if name in self.senders or len(self.senders) < MAX_SENDERS:
            self.senders[name] += 1
        else:
            self.others += 1

    def attached(self, name: str) -> None:
        self.attachment_count += 1
        if len(self.attachments) < MAX_ATTACHMENTS:
            self.attachments.append(name[:1024])

    def tags(self) -> dict[str, JSONValue]:
        tags: dict[str, JSONValue] = {
            "app": self.app,
            "layout": self.layout,
            "messages": self.messages,
            "system_lines": self.system,
            "senders": len(self.senders) + (1 if self.others else 0),
            "participants": dict(self.senders.most_common(MAX_PARTICIPANTS)),
            "deleted": self.deleted,
            "media_omitted": self.omitted,
            "attachments": self.attachment_count,
            "attachment_names": list(self.attachments),
        }
        if len(self.senders) > MAX_PARTICIPANTS:
            tags["participants_not_listed"] = len(self.senders) - MAX_PARTICIPANTS
        return tags


class _Chat(_Counts):
    """What the lines of a WhatsApp export add up to."""

    def __init__(self) -> None:
        super().__init__("WhatsApp", "")
        self.before_first = 0
        # Each message line's date and time packed in one integer (a chat of millions of
        # lines in tens of megabytes); its text kept for the first and last lines only.
        self.dates = array("q")
        self.head_raw: list[str] = []
        self.tail_raw: deque[tuple[int, str]] = deque(maxlen=_KEPT_RAW)
        self.first_raw = ""
        self.last_raw = ""
        self.big_a = self.big_b = self.year_first = False

    def line(self, line: str) -> None:
        m = _MESSAGE.match(line)
        if m is None:
            if not self.messages and not self.system:
                self.before_first += 1
            return
        bracket, stamp, a_text, _, b_text, c_text, hh, mi, ss, ampm, rest = m.groups()
        if not self.layout:
            self.layout = "iOS" if bracket else "Android"
        a, b = int(a_text), int(b_text)
        if len(a_text) == 4:
            self.year_first = True
        elif a > 12:
            self.big_a = True
        if b > 12:
            self.big_b = True
        self.dates.append(_pack(a, b, int(c_text), int(hh), int(mi), None if ss is None else int(ss), ampm))
        if len(self.head_raw) < _KEPT_RAW:
            self.head_raw.append(stamp)
        self.tail_raw.append((len(self.dates) - 1, stamp))
        if not self.first_raw:
            self.first_raw = stamp
        self.last_raw = stamp
        # ``Sender: text``: the sender is what comes before the first ": " (a system line has none).
        colon = rest.find(": ", 0, MAX_NAME + 3)
        name = rest[:colon].lstrip("\u200e").strip() if colon > 0 else ""
        if not name or ":" in name:
            self.system += 1
            return
        self.messages += 1
        self.sender(name)
        text = rest[colon + 2 :].lstrip("\u200e")
        if text.startswith(_DELETED):
            self.deleted += 1
        elif text[:40].lower().startswith(_OMITTED):
            self.omitted += 1
        if "<attached: " in text:
            attached = _IOS_ATTACHED.search(text)
            if attached:
                self.attached(attached.group("name").strip())
        elif text.endswith(_ANDROID_ATTACHED_END):
            attached = _ANDROID_ATTACHED.match(text)
            if attached:
                self.attached(attached.group("name").strip())

    def order(self) -> str:
        if self.year_first:
            return "year/month/day"
        if self.big_a and self.big_b:
            return "inconsistent"
        if self.big_a:
            return "day/month/year"
        if self.big_b:
            return "month/day/year"
        return "ambiguous"

    def raw(self, i: int) -> str:
        """The date and time of message line ``i`` as written (kept for the first and last
        lines only)."""
        if i < len(self.head_raw):
            return self.head_raw[i]
        return next((t for j, t in self.tail_raw if j == i), f"(message line {i + 1})")


#: Message lines whose date and time are kept as written, at each end.
_KEPT_RAW = 64


def _pack(a: int, b: int, c: int, hh: int, mi: int, ss: int | None, ampm: str | None) -> int:
    """A line's numbers in one integer (each under its field's bound, by the pattern)."""
    half = 0 if ampm is None else 1 if ampm in "Aa" else 2
    return ((((((a * 100 + b) * 10000 + c) * 100 + hh) * 100 + mi) * 100 + (ss or 0)) * 2 + (ss is not None)) * 3 + half


def _unpack(v: int) -> tuple[int, int, int, int, int, int | None, str | None]:
    v, half = divmod(v, 3)
    v, has_ss = divmod(v, 2)
    v, ss = divmod(v, 100)
    v, mi = divmod(v, 100)
    v, hh = divmod(v, 100)
    v, c = divmod(v, 10000)
    a, b = divmod(v, 100)
    return a, b, c, hh, mi, ss if has_ss else None, (None, "A", "P")[half]


def _when(packed: int, order: str) -> datetime:
    a, b, c, hh, mi, ss, ampm = _unpack(packed)
    if order == "year/month/day":
        y, mo, day = a, b, c
    elif order == "day/month/year":
        day, mo, y = a, b, c
    else:
        mo, day, y = a, b, c
    if y < 100:
        y += 2000  # WhatsApp began in 2009
    if ampm is not None:
        if not 1 <= hh <= 12:
            raise ValueError(f"hour {hh} with AM/PM")
        hh = hh % 12 + (12 if ampm == "P" else 0)
    return datetime(y, mo, day, hh, mi, ss or 0)


def _lines(ctx: FileContext, problems: list[Problem]) -> Iterable[str]:
    """The export's lines; one longer than :data:`MAX_LINE` comes in pieces (the pieces after
    the first continue a message), so a file without line breaks is never held whole."""
    with ctx.open() as fh:
        read = 0
        first = True
        while raw := fh.readline(MAX_LINE):
            read += len(raw)
            if read > MAX_BYTES:
                problems.append(problem(NAME, f"only the first {MAX_BYTES:,} bytes read", type="TooLarge"))
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if first:
                line = line.lstrip("\ufeff")
                first = False
            yield line


@register
class ChatExtractor:
    name = NAME
    description = (
        "Chat exports (WhatsApp text, Telegram and Instagram/Messenger JSON): senders, counts, times, attachments"
    )
    #: text/csv: libmagic calls a WhatsApp export CSV text when its lines have as many
    #: commas each (``[13/05/2019, 21:03:11] Sam: hello`` has one).
    mime_types = frozenset({"text/plain", "text/csv", "application/json"})

    def extract(self, ctx: FileContext) -> Extraction:
        if ctx.file_type.mime == "application/json":
            return _json_export(ctx)
        # Most text files are no chat: their first line says so, from the bytes already read.
        first = _first_line(ctx.head)
        if first is None or _MESSAGE.match(first) is None:
            return Extraction(extractor=self.name, group=self.name)
        problems: list[Problem] = []
        chat = _Chat()
        for line in _lines(ctx, problems):
            chat.line(line)
        return _extraction(chat, problems)


def _extraction(chat: _Chat, problems: list[Problem]) -> Extraction:
    order = chat.order()
    tags = chat.tags()
    tags["date_order"] = order
    tags["first_line_time"] = chat.first_raw
    tags["last_line_time"] = chat.last_raw
    tags["lines_before_first_message"] = chat.before_first
    timestamps: list[Timestamp] = []
    findings: list[Finding] = []
    if order == "inconsistent":
        problems.append(
            problem(
                NAME,
                "dates read both ways: in some lines the first number is over 12 (a day), in others the second: "
                "no time is put on the record",
            )
        )
    elif order != "ambiguous":
        _times(chat, order, tags, timestamps, findings, problems)
    return Extraction(
        extractor=NAME,
        group=NAME,
        tags=tags,
        timestamps=tuple(timestamps),
        problems=tuple(problems),
        findings=tuple(findings),
    )


def _times(
    chat: _Chat,
    order: str,
    tags: dict[str, JSONValue],
    timestamps: list[Timestamp],
    findings: list[Finding],
    problems: list[Problem],
) -> None:
    """The first and last message's times, and the lines dated before the line above, in
    one pass over the packed dates (no list of millions of datetimes)."""
    first = last = earliest = latest = previous = None
    first_i = last_i = 0
    bad = late = 0
    for i, packed in enumerate(chat.dates):
        try:
            when = _when(packed, order)
        except ValueError:
            bad += 1
            continue
        if first is None:
            first, first_i = when, i
        last, last_i = when, i
        earliest = when if earliest is None or when < earliest else earliest
        latest = when if latest is None or when > latest else latest
        if previous is not None and when < previous:
            late += 1
        previous = when
    if bad:
        problems.append(problem(NAME, f"{bad} message lines with an impossible date or time (read as {order})"))
    if first is None or last is None or earliest is None or latest is None:
        return
    tags["first_message"] = first.isoformat()
    tags["last_message"] = last.isoformat()
    tags["dated_before_the_line_above"] = late
    for name, when, i in (("ChatFirstMessage", first, first_i), ("ChatLastMessage", last, last_i)):
        timestamps.append(Timestamp(name=name, source=NAME, value=when.isoformat(), utc=None, raw=chat.raw(i)))
    if late:
        findings.append(
            Finding(
                "chat-out-of-order",
                "info",
                f"{late} message lines are dated before the line above them (the earliest is "
                f"{earliest.isoformat()}, the latest {latest.isoformat()}): a message delivered late, a change of "
                "the phone's clock or time zone, or an edited export",
                {"lines": late},
            )
        )


# --- JSON exports -----------------------------------------------------------------------

#: Keys of the first kilobytes that make a JSON file worth reading as an export.
_TELEGRAM_HEAD = re.compile(
    rb'"type"\s*:\s*"(?:personal_chat|private_group|private_supergroup|public_supergroup|'
    rb'public_channel|private_channel|saved_messages|bot_chat)"'
)
_META_HEAD = re.compile(rb'^\s*\{\s*"participants"\s*:\s*\[')


class _JsonChat(_Counts):
    """What the messages of a JSON export add up to."""

    def __init__(self, app: str, layout: str) -> None:
        super().__init__(app, layout)
        self.title: str | None = None
        self.kind: str | None = None
        self.first: tuple[int, str] | None = None  # (UTC milliseconds, raw)
        self.last: tuple[int, str] | None = None
        self.offsets: Counter[int] = Counter()  # Telegram: local minus UTC, in minutes
        self.bad = 0

    def media(self, name: Any) -> None:
        if not isinstance(name, str):
            return
        if name.startswith("(File not included"):
            self.omitted += 1
        else:
            self.attached(name)

    def when(self, ms: int, raw: str) -> None:
        if self.first is None or ms < self.first[0]:
            self.first = (ms, raw)
        if self.last is None or ms > self.last[0]:
            self.last = (ms, raw)


def _mend(text: Any) -> Any:
    """Meta's text, UTF-8 bytes escaped one by one as characters, made text again."""
    if not isinstance(text, str):
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _telegram_message(chat: _JsonChat, m: Mapping[str, Any]) -> None:
    if m.get("type") == "service":
        chat.system += 1
    else:
        chat.messages += 1
        chat.sender(m.get("from"))
    for key in ("photo", "file"):
        chat.media(m.get(key))
    unix, local = m.get("date_unixtime"), m.get("date")
    try:
        seconds = int(unix) if isinstance(unix, (str, int)) and not isinstance(unix, bool) else None
    except ValueError:
        seconds = None
    if seconds is None:
        chat.bad += 1
        return
    chat.when(seconds * 1000, str(unix))
    if isinstance(local, str):
        try:
            shown = datetime.fromisoformat(local)
            utc = datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)
            chat.offsets[round((shown - utc).total_seconds() / 60)] += 1
        except (ValueError, OverflowError, OSError):
            chat.bad += 1


def _meta_message(chat: _JsonChat, m: Mapping[str, Any]) -> None:
    chat.messages += 1
    chat.sender(_mend(m.get("sender_name")))
    if m.get("is_unsent") is True:
        chat.deleted += 1
    for key in ("photos", "videos", "audio_files", "files", "gifs"):
        items = m.get(key)
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict):
                    chat.media(item.get("uri"))
    ms = m.get("timestamp_ms")
    if isinstance(ms, int) and not isinstance(ms, bool):
        chat.when(ms, str(ms))
    else:
        chat.bad += 1


def _json_export(ctx: FileContext) -> Extraction:
    head = ctx.head[:8192]
    if _META_HEAD.match(head):
        chat = _JsonChat("Instagram or Facebook Messenger", "Meta download (JSON)")
        on_message = _meta_message
    elif _TELEGRAM_HEAD.search(head) and b'"messages"' in head:
        chat = _JsonChat("Telegram", "Telegram Desktop export (JSON)")
        on_message = _telegram_message
    else:
        return Extraction(extractor=NAME, group=NAME)
    problems: list[Problem] = []
    with ctx.open() as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace")
        try:
            _read_messages(ObjectReader(_pieces(text, problems), max_value=MAX_JSON_VALUE), chat, on_message)
        except (JsonStreamError, RecursionError) as exc:
            why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            problems.append(problem(NAME, f"the export is not valid JSON past this point: {why}"))
        finally:
            text.detach()
    return _json_extraction(chat, problems)


def _read_messages(
    reader: ObjectReader, chat: _JsonChat, on_message: Callable[[_JsonChat, Mapping[str, Any]], None]
) -> None:
    """The export's top-level members: its messages one at a time, its name and type."""
    while (key := reader.next_key()) is not None:
        if key == "messages" and reader.peek() == "[":
            for m in reader.items():
                if isinstance(m, dict):
                    on_message(chat, m)
                else:
                    chat.bad += 1
        elif key in ("name", "title", "type"):
            value = reader.value()
            if isinstance(value, str) and key != "type":
                chat.title = _mend(value)[:MAX_NAME]
            elif isinstance(value, str):
                chat.kind = value[:100]
        else:
            reader.value()


def _pieces(text: io.TextIOWrapper, problems: list[Problem]) -> Iterator[str]:
    read = 0
    while piece := text.read(1 << 20):
        read += len(piece)
        if read > MAX_BYTES:
            problems.append(problem(NAME, f"only the first {MAX_BYTES:,} characters read", type="TooLarge"))
            return
        yield piece


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat().replace("+00:00", "Z")


def _json_extraction(chat: _JsonChat, problems: list[Problem]) -> Extraction:
    tags = chat.tags()
    if chat.title is not None:
        tags["title"] = chat.title
    if chat.kind is not None:
        tags["chat_type"] = chat.kind
    if chat.bad:
        problems.append(problem(NAME, f"{chat.bad} messages without a readable time"))
    timestamps: list[Timestamp] = []
    try:
        for name, found in (("ChatFirstMessage", chat.first), ("ChatLastMessage", chat.last)):
            if found is not None:
                when = _iso(found[0])
                tags["first_message" if name == "ChatFirstMessage" else "last_message"] = when
                timestamps.append(
                    Timestamp(name=name, source=NAME, value=when, utc=when, raw=found[1], offset_origin="utc-by-spec")
                )
    except (ValueError, OverflowError, OSError):
        problems.append(problem(NAME, "a message time is out of range"))
        timestamps = []
    if chat.offsets:
        offsets = sorted(chat.offsets)
        tags["export_utc_offsets"] = [
            f"{'+' if o >= 0 else '-'}{abs(o) // 60:02d}:{abs(o) % 60:02d}" for o in offsets[:10]
        ]
    return Extraction(extractor=NAME, group=NAME, tags=tags, timestamps=tuple(timestamps), problems=tuple(problems))
