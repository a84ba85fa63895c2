"""WhatsApp chat exports ("Export chat" on a phone: ``_chat.txt``, ``WhatsApp Chat with X.txt``).

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

Only the file is read, at most :data:`MAX_BYTES`; the text is never kept (message counts
and names only).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import Iterable

from evidence_cli.extractors.base import FileContext, problem, register
from evidence_cli.models import Extraction, Finding, JSONValue, Problem, Timestamp

NAME = "chat"
#: Bytes of an export read (years of messages are tens of megabytes).
MAX_BYTES = 256 * 1024 * 1024
#: Participants listed by name (the busiest first); the rest are counted.
MAX_PARTICIPANTS = 50
#: Attachment names listed.
MAX_ATTACHMENTS = 1000
#: Longest sender name kept (a line of a forged export may be anything).
MAX_NAME = 200

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
#: ``Sender: text``: a sender is everything before the first ``: ``.
_SENDER = re.compile(rf"\u200e?(?P<name>[^:\u200e]{{1,{MAX_NAME}}}?): (?P<text>.*)", re.S)
#: Media the export left out ("Export without media").
_OMITTED = re.compile(
    r"\u200e?(?:<Media omitted>|<M\u00e9dias omis>|<Medien ausgeschlossen>|"
    r"(?:image|video|audio|sticker|GIF|document) omitted)",
    re.I,
)
_IOS_ATTACHED = re.compile(r"<attached: (?P<name>[^>]{1,255})>")
_ANDROID_ATTACHED = re.compile(r"\u200e?(?P<name>[^\s/\\][^/\\]{0,254}?) \((?:file attached|Datei angeh\u00e4ngt)\)")
_DELETED = re.compile(r"\u200e?(?:This message was deleted|You deleted this message)\.?$")


#: What an export's first line starts with: a digit, ``[`` or a left-to-right mark.
_STARTS = frozenset(b"0123456789[\xe2")


def _first_line(head: bytes) -> str | None:
    """The first line of text, or None when it cannot start a message (checked on the
    bytes first: most text files are no chat, and a scan meets thousands of them)."""
    head = head[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head or head[0] not in _STARTS:
        return None
    return head.partition(b"\n")[0].decode("utf-8", "replace")


class _Chat:
    """What the lines of an export add up to."""

    def __init__(self) -> None:
        self.layout = ""
        self.messages = 0
        self.system = 0
        self.senders: Counter[str] = Counter()
        self.omitted = 0
        self.deleted = 0
        self.attachments: list[str] = []
        self.attachment_count = 0
        self.before_first = 0
        self.dates: list[tuple[int, int, int, int, int, int | None, str | None, str]] = []
        self.first_raw = ""
        self.last_raw = ""
        self.big_a = self.big_b = self.year_first = False

    def line(self, line: str) -> None:
        m = _MESSAGE.match(line)
        if m is None:
            if not self.messages and not self.system:
                self.before_first += 1
            return
        if not self.layout:
            self.layout = "iOS" if m.group("bracket") else "Android"
        a, b, c = int(m.group("a")), int(m.group("b")), int(m.group("c"))
        self.year_first |= len(m.group("a")) == 4
        self.big_a |= a > 12 and len(m.group("a")) < 4
        self.big_b |= b > 12
        s = m.group("s")
        stamp = m.group("when")  # the date and time as written
        hh, mi = int(m.group("h")), int(m.group("mi"))
        self.dates.append((a, b, c, hh, mi, None if s is None else int(s), m.group("ampm"), stamp))
        if not self.first_raw:
            self.first_raw = stamp
        self.last_raw = stamp
        rest = m.group("rest")
        sender = _SENDER.match(rest)
        if sender is None:
            self.system += 1
            return
        self.messages += 1
        self.senders[sender.group("name").strip()] += 1
        text = sender.group("text")
        if _DELETED.match(text):
            self.deleted += 1
        elif _OMITTED.match(text):
            self.omitted += 1
        attached = _IOS_ATTACHED.search(text) or _ANDROID_ATTACHED.match(text)
        if attached:
            self.attachment_count += 1
            if len(self.attachments) < MAX_ATTACHMENTS:
                self.attachments.append(attached.group("name").strip())

    def order(self) -> str:
        if self.year_first:
            return "year/month/day"
        if self.big_a and not self.big_b:
            return "day/month/year"
        if self.big_b and not self.big_a:
            return "month/day/year"
        return "ambiguous"


def _when(d: tuple[int, int, int, int, int, int | None, str | None, str], order: str) -> datetime:
    a, b, c, hh, mi, ss, ampm, _ = d
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
        hh = hh % 12 + (12 if ampm in "Pp" else 0)
    return datetime(y, mo, day, hh, mi, ss or 0)


def _lines(ctx: FileContext, problems: list[Problem]) -> Iterable[str]:
    with ctx.open() as fh:
        read = 0
        first = True
        for raw in fh:
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
    description = "WhatsApp chat exports: layout, senders and message counts, first and last message, attachments"
    mime_types = frozenset({"text/plain"})

    def extract(self, ctx: FileContext) -> Extraction:
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
    tags: dict[str, JSONValue] = {
        "app": "WhatsApp",
        "layout": chat.layout,
        "date_order": order,
        "messages": chat.messages,
        "system_lines": chat.system,
        "senders": len(chat.senders),
        "participants": dict(chat.senders.most_common(MAX_PARTICIPANTS)),
        "deleted": chat.deleted,
        "media_omitted": chat.omitted,
        "attachments": chat.attachment_count,
        "attachment_names": list(chat.attachments),
        "first_line_time": chat.first_raw,
        "last_line_time": chat.last_raw,
        "lines_before_first_message": chat.before_first,
    }
    if len(chat.senders) > MAX_PARTICIPANTS:
        tags["participants_not_listed"] = len(chat.senders) - MAX_PARTICIPANTS
    timestamps: list[Timestamp] = []
    findings: list[Finding] = []
    if order != "ambiguous":
        times: list[datetime] = []
        bad = 0
        for d in chat.dates:
            try:
                times.append(_when(d, order))
            except ValueError:
                bad += 1
        if bad:
            problems.append(problem(NAME, f"{bad} message lines with an impossible date or time (read as {order})"))
        if times:
            first, last = min(times), max(times)
            tags["first_message"] = times[0].isoformat()
            tags["last_message"] = times[-1].isoformat()
            late = sum(1 for x, y in zip(times, times[1:]) if y < x)
            tags["dated_before_the_line_above"] = late
            for name, when, raw in (
                ("ChatFirstMessage", times[0], chat.first_raw),
                ("ChatLastMessage", times[-1], chat.last_raw),
            ):
                timestamps.append(Timestamp(name=name, source=NAME, value=when.isoformat(), utc=None, raw=raw))
            if late:
                findings.append(
                    Finding(
                        "chat-out-of-order",
                        "info",
                        f"{late} message lines are dated before the line above them (the earliest is "
                        f"{first.isoformat()}, the latest {last.isoformat()}): a message delivered late, a change of "
                        "the phone's clock or time zone, or an edited export",
                        {"lines": late},
                    )
                )
    return Extraction(
        extractor=NAME,
        group=NAME,
        tags=tags,
        timestamps=tuple(timestamps),
        problems=tuple(problems),
        findings=tuple(findings),
    )
