"""Chat exports: WhatsApp's two layouts in the date orders of every language, Telegram's and
Meta's JSON, the report's section, and the damage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evidence_cli.extractors import chat
from evidence_cli.models import Extraction
from evidence_cli.scanner import ScanOptions, scan
from tests.builders import file_context, jpeg_bytes

LRM, NNBSP = "\u200e", "\u202f"

IOS = (
    "\ufeff[12/05/2019, 21:03:11] Night Out: "
    + LRM
    + "Messages and calls are end-to-end encrypted. No one outside of this chat can read them.\n"
    "[12/05/2019, 21:03:40] Sam: Are you coming?\n"
    "[12/05/2019, 21:04:02] Alex: Maybe\n"
    "later, after the film\n"  # a message of three lines
    "\n"
    "[13/05/2019, 08:15:00] Alex: " + LRM + "<attached: 00000012-PHOTO-2019-05-13-08-15-00.jpg>\n"
    "[13/05/2019, 08:16:30] Sam: " + LRM + "This message was deleted.\n"
    "[13/05/2019, 08:17:00] Sam: " + LRM + "image omitted\n"
)

ANDROID_US = (
    "5/13/19, 1:39" + NNBSP + "PM - Messages and calls are end-to-end encrypted. Tap to learn more.\n"
    "5/13/19, 1:40" + NNBSP + "PM - Sam: hi\r\n"
    "5/13/19, 1:41 PM - Alex: IMG-20190513-WA0001.jpg (file attached)\r\n"
    "5/14/19, 12:05 AM - Alex: <Media omitted>\r\n"
    "5/14/19, 9:00 AM - Sam: You deleted this message\r\n"
)


def extract(text: str) -> Extraction:
    data = text.encode("utf-8")
    return chat.ChatExtractor().extract(file_context(data, "_chat.txt", mime="text/plain"))


def test_an_ios_export() -> None:
    got = extract(IOS)
    t = got.tags
    assert (t["app"], t["layout"], t["date_order"]) == ("WhatsApp", "iOS", "day/month/year")
    assert (t["messages"], t["system_lines"], t["senders"]) == (6, 0, 3)
    assert t["participants"] == {"Sam": 3, "Alex": 2, "Night Out": 1}
    assert (t["deleted"], t["media_omitted"], t["attachments"]) == (1, 1, 1)
    assert t["attachment_names"] == ["00000012-PHOTO-2019-05-13-08-15-00.jpg"]
    assert (t["first_message"], t["last_message"]) == ("2019-05-12T21:03:11", "2019-05-13T08:17:00")
    assert (t["first_line_time"], t["last_line_time"]) == ("12/05/2019, 21:03:11", "13/05/2019, 08:17:00")
    assert [(s.name, s.source, s.value, s.utc, s.raw) for s in got.timestamps] == [
        ("ChatFirstMessage", "chat", "2019-05-12T21:03:11", None, "12/05/2019, 21:03:11"),
        ("ChatLastMessage", "chat", "2019-05-13T08:17:00", None, "13/05/2019, 08:17:00"),
    ]
    assert not got.problems and not got.findings


def test_an_android_export_in_us_english() -> None:
    got = extract(ANDROID_US)
    t = got.tags
    assert (t["layout"], t["date_order"]) == ("Android", "month/day/year")
    assert (t["messages"], t["system_lines"]) == (4, 1)
    assert t["attachment_names"] == ["IMG-20190513-WA0001.jpg"]
    assert (t["media_omitted"], t["deleted"]) == (1, 1)
    # 12:05 AM is five past midnight; the first line is a system line, and it counts.
    assert (t["first_message"], t["last_message"]) == ("2019-05-13T13:39:00", "2019-05-14T09:00:00")


@pytest.mark.parametrize(
    "line, order, when",
    [
        ("13.05.19, 21:03 - Sam: Hallo", "day/month/year", "2019-05-13T21:03:00"),
        ("2019-05-13 21:03 - Sam: hej", "year/month/day", "2019-05-13T21:03:00"),
        ("[13/05/2019 21:03:07] Sam: hi", "day/month/year", "2019-05-13T21:03:07"),
        ("[5/13/19, 9:03:07 p.m.] Sam: hi", "month/day/year", "2019-05-13T21:03:07"),
    ],
)
def test_the_date_forms_of_other_languages(line: str, order: str, when: str) -> None:
    t = extract(line + "\n").tags
    assert (t["date_order"], t["first_message"]) == (order, when)


def test_an_order_no_date_decides_puts_no_time_on_the_record() -> None:
    got = extract("[01/05/2019, 13:40:55] Sam: hi\n[02/05/2019, 09:20:47] Alex: hello\n")
    assert got.tags["date_order"] == "ambiguous"
    assert "first_message" not in got.tags and not got.timestamps
    assert got.tags["first_line_time"] == "01/05/2019, 13:40:55"  # the text as written stays


def test_lines_dated_before_the_line_above_are_a_finding() -> None:
    got = extract("[13/05/2019, 10:00:00] Sam: a\n[13/05/2019, 09:00:00] Alex: b\n[14/05/2019, 08:00:00] Sam: c\n")
    assert got.tags["dated_before_the_line_above"] == 1
    [finding] = got.findings
    assert (finding.code, finding.severity, finding.evidence) == ("chat-out-of-order", "info", {"lines": 1})
    assert got.tags["first_message"] == "2019-05-13T10:00:00"  # the first line's, not the earliest


def test_an_impossible_date_is_a_problem() -> None:
    got = extract("[13/05/2019, 10:00:00] Sam: a\n[31/02/2019, 10:00:00] Sam: b\n")
    assert [p.message for p in got.problems] == [
        "1 message lines with an impossible date or time (read as day/month/year)"
    ]
    assert got.tags["messages"] == 2 and got.tags["last_message"] == "2019-05-13T10:00:00"


def test_text_that_is_no_chat_is_left_alone() -> None:
    for text in ("Dear Sir,\n13/05/2019, 10:00 - Sam: not at the start\n", "", "2019-05-13\n"):
        assert extract(text) == Extraction(extractor="chat", group="chat")


def test_hostile_exports(monkeypatch: pytest.MonkeyPatch) -> None:
    # A sender as long as a line can be is no sender; a name cannot run the terminal.
    got = extract("[13/05/2019, 10:00:00] " + "N" * 10_000 + ": text\n[13/05/2019, 10:00:01] \x1b[31m: x\n")
    assert got.tags["system_lines"] == 1 and got.tags["participants"] == {"\x1b[31m": 1}
    monkeypatch.setattr(chat, "MAX_BYTES", 100)
    got = extract("[13/05/2019, 10:00:00] Sam: a\n" * 10)
    assert got.tags["messages"] == 3
    assert [p.message for p in got.problems] == ["only the first 100 bytes read"]


def test_a_scan_puts_the_chat_in_the_timeline_as_local_time(tmp_path: Path) -> None:
    (tmp_path / "_chat.txt").write_text(IOS, encoding="utf-8")
    [record] = scan([str(tmp_path)], ScanOptions(workers=0))
    assert record.metadata["chat"]["messages"] == 6
    assert record.captured is None  # a chat's times are not when the file was made
    names = [(t.name, t.value, t.utc) for t in record.timestamps if t.source == "chat"]
    assert names == [
        ("ChatFirstMessage", "2019-05-12T21:03:11", None),
        ("ChatLastMessage", "2019-05-13T08:17:00", None),
    ]


def test_an_export_libmagic_calls_csv_is_read_as_a_chat(tmp_path: Path) -> None:
    """One comma a line (the date's) makes libmagic call a short export CSV text."""
    text = "[13/05/2019, 21:03:11] Sam: hello\n[13/05/2019, 21:04:00] Alex: hi\n[13/05/2019, 21:05:00] Sam: ok\n"
    (tmp_path / "_chat.txt").write_text(text, encoding="utf-8")
    [record] = scan([str(tmp_path)], ScanOptions(workers=0))
    assert record.mime == "text/csv"
    assert record.metadata["chat"]["messages"] == 3


def test_the_report_says_which_attachments_are_in_the_scan(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from evidence_cli.cli import cli

    case = tmp_path / "case" / "WhatsApp Chat - Sam"
    case.mkdir(parents=True)
    text = IOS + "[13/05/2019, 08:18:00] Sam: " + LRM + "<attached: 00000013-VIDEO-2019-05-13.mp4>\n"
    text += "[13/05/2019, 08:19:00] Sam: " + LRM + "<attached: ../../etc/passwd>\n"
    (case / "_chat.txt").write_text(text, encoding="utf-8")
    (case / "00000012-PHOTO-2019-05-13-08-15-00.jpg").write_bytes(jpeg_bytes())
    manifest, page = tmp_path / "case.json", tmp_path / "report.html"
    scanned = CliRunner().invoke(cli, ["scan", str(tmp_path / "case"), "--workers", "0", "--json", str(manifest)])
    assert scanned.exit_code == 0, scanned.output
    done = CliRunner().invoke(cli, ["report", str(manifest), "-o", str(page)])
    assert done.exit_code == 0, done.output
    html = page.read_text()
    section = html[html.index("<h2>Chat exports (1)</h2>") : html.index("<h2>Timeline")]
    row = section[section.index("<tr><td class=mono>WhatsApp Chat - Sam/_chat.txt") :]
    row = row[: row.index("</tr>")]
    assert "<td>iOS</td><td>8</td>" in row and "2019-05-12T21:03:11 to 2019-05-13T08:19:00" in row
    # 3 named: one beside it, one to find, one with folders in its name not looked for.
    assert "<td>3</td><td>1</td><td class=mono>00000013-VIDEO-2019-05-13.mp4 (1 not looked for)</td>" in row


# --- JSON exports -------------------------------------------------------------------------


TELEGRAM = {
    "name": "Sam",
    "type": "personal_chat",
    "id": 4242,
    "messages": [
        {
            "id": 1,
            "type": "service",
            "date": "2019-05-13T21:00:00",
            "date_unixtime": "1557774000",
            "actor": "Sam",
            "action": "phone_call",
        },
        {
            "id": 2,
            "type": "message",
            "date": "2019-05-13T21:03:11",
            "date_unixtime": "1557774191",
            "from": "Sam",
            "from_id": "user1",
            "text": "hi",
            "photo": "photos/photo_1@13-05-2019_21-03-11.jpg",
        },
        {
            "id": 3,
            "type": "message",
            "date": "2019-05-14T08:00:00",
            "date_unixtime": "1557813600",
            "from": "Alex",
            "from_id": "user2",
            "text": "",
            "file": "(File not included. Change data exporting settings to download.)",
            "media_type": "video_file",
        },
    ],
}

META = {
    "participants": [{"name": "\u00c3\u0089lise"}, {"name": "Sam"}],
    "messages": [  # newest first, as Meta writes them
        {"sender_name": "Sam", "timestamp_ms": 1557813600000, "content": "ok", "is_unsent": True},
        {
            "sender_name": "\u00c3\u0089lise",
            "timestamp_ms": 1557774191000,
            "photos": [{"uri": "your_activity/messages/inbox/sam_1/photos/1.jpg", "creation_timestamp": 1557774191}],
        },
    ],
    "title": "Sam",
    "thread_path": "inbox/sam_1",
}


def extract_json(doc: object | str) -> Extraction:
    data = (doc if isinstance(doc, str) else json.dumps(doc, indent=1)).encode("utf-8")
    return chat.ChatExtractor().extract(file_context(data, "result.json", mime="application/json"))


def test_a_telegram_export_gives_utc_times_and_the_exporting_offset() -> None:
    got = extract_json(TELEGRAM)
    t = got.tags
    assert (t["app"], t["title"], t["chat_type"]) == ("Telegram", "Sam", "personal_chat")
    assert (t["messages"], t["system_lines"], t["participants"]) == (2, 1, {"Sam": 1, "Alex": 1})
    assert (t["attachments"], t["attachment_names"], t["media_omitted"]) == (
        1,
        ["photos/photo_1@13-05-2019_21-03-11.jpg"],
        1,
    )
    assert (t["first_message"], t["last_message"]) == ("2019-05-13T19:00:00Z", "2019-05-14T06:00:00Z")
    assert t["export_utc_offsets"] == ["+02:00"]
    assert [(s.name, s.value, s.utc, s.offset_origin, s.raw) for s in got.timestamps] == [
        ("ChatFirstMessage", "2019-05-13T19:00:00Z", "2019-05-13T19:00:00Z", "utc-by-spec", "1557774000"),
        ("ChatLastMessage", "2019-05-14T06:00:00Z", "2019-05-14T06:00:00Z", "utc-by-spec", "1557813600"),
    ]
    assert not got.problems


def test_a_meta_download_mends_its_text_and_orders_its_times() -> None:
    got = extract_json(META)
    t = got.tags
    assert (t["app"], t["layout"], t["title"]) == ("Instagram or Facebook Messenger", "Meta download (JSON)", "Sam")
    assert t["participants"] == {"Sam": 1, "\u00c9lise": 1}  # Ã‰lise was Élise
    assert (t["deleted"], t["attachments"]) == (1, 1)
    assert (t["first_message"], t["last_message"]) == ("2019-05-13T19:03:11Z", "2019-05-14T06:00:00Z")


def test_a_json_export_broken_half_way_keeps_what_was_read() -> None:
    text = json.dumps(TELEGRAM, indent=1)
    got = extract_json(text[: text.index('"id": 3')])
    assert got.tags["messages"] == 1 and got.tags["system_lines"] == 1
    assert [p.message.startswith("the export is not valid JSON past this point: ") for p in got.problems] == [True]


def test_other_json_is_left_alone() -> None:
    for doc in ({"name": "left-pad", "version": "1.0.0"}, [1, 2], {"messages": "not a chat"}):
        assert extract_json(doc) == Extraction(extractor="chat", group="chat")


def test_the_report_finds_the_attachments_of_json_exports_under_their_folders(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from evidence_cli.cli import cli

    telegram = tmp_path / "case" / "ChatExport_2019-05-14"
    (telegram / "photos").mkdir(parents=True)
    (telegram / "result.json").write_text(json.dumps(TELEGRAM, indent=1))
    (telegram / "photos" / "photo_1@13-05-2019_21-03-11.jpg").write_bytes(jpeg_bytes())
    meta = tmp_path / "case" / "instagram-sam" / "your_activity" / "messages" / "inbox" / "sam_1"
    (meta / "photos").mkdir(parents=True)
    (meta / "message_1.json").write_text(json.dumps(META, indent=1))
    manifest, page = tmp_path / "case.json", tmp_path / "report.html"
    scanned = CliRunner().invoke(cli, ["scan", str(tmp_path / "case"), "--workers", "0", "--json", str(manifest)])
    assert scanned.exit_code == 0, scanned.output
    assert CliRunner().invoke(cli, ["report", str(manifest), "-o", str(page)]).exit_code == 0
    html = page.read_text()
    section = html[html.index("<h2>Chat exports (2)</h2>") : html.index("<h2>Timeline")]
    # Telegram's photo is under the export's folder; Meta's, named from the download's top
    # folder, was not handed over.
    assert "<td>1</td><td>1</td><td class=mono></td></tr>" in section
    assert "<td>1</td><td>0</td><td class=mono>your_activity/messages/inbox/sam_1/photos/1.jpg</td>" in section
    assert "2019-05-13T19:00:00Z to 2019-05-14T06:00:00Z" in section


def test_senders_past_the_limit_are_counted_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chat, "MAX_SENDERS", 2)
    lines = "".join(f"[13/05/2019, 10:00:0{i}] Member {i}: hi\n" for i in range(5))
    t = extract(lines).tags
    assert t["participants"] == {"Member 0": 1, "Member 1": 1} and t["senders"] == 3 and t["messages"] == 5


def test_dates_read_both_ways_are_inconsistent_and_put_no_time() -> None:
    got = extract("[13/05/2019, 10:00:00] Sam: a\n[05/14/2019, 10:00:00] Alex: b\n")
    assert got.tags["date_order"] == "inconsistent" and not got.timestamps
    assert got.problems[0].message.startswith("dates read both ways")


def test_the_first_time_is_the_first_line_that_has_one() -> None:
    got = extract("[31/02/2019, 10:00:00] Sam: a\n[13/05/2019, 11:00:00] Sam: b\n")
    first = got.timestamps[0]
    assert (first.value, first.raw) == ("2019-05-13T11:00:00", "13/05/2019, 11:00:00")


def test_a_long_export_is_counted_in_little_memory() -> None:
    import tracemalloc

    day = "".join(
        f"[{d:02d}/05/2019, {h:02d}:{m:02d}:00] {'Sam' if m % 2 else 'Alex'}: message {m}\n"
        for d in (13, 14)
        for h in range(24)
        for m in range(60)
    )
    text = day * 15  # 43,200 message lines
    tracemalloc.start()
    got = extract(text)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert got.tags["messages"] == 43_200 and got.tags["dated_before_the_line_above"] == 14
    assert (got.timestamps[0].raw, got.timestamps[1].raw) == ("13/05/2019, 00:00:00", "14/05/2019, 23:59:00")
    assert peak < len(text) + 8 * 1024 * 1024  # the text itself, and a few MB: no object per line


def test_a_line_without_end_is_read_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chat, "MAX_LINE", 100)
    got = extract("[13/05/2019, 10:00:00] Sam: " + "x" * 10_000 + "\n[13/05/2019, 10:00:01] Alex: b\n")
    assert got.tags["messages"] == 2 and got.tags["participants"] == {"Sam": 1, "Alex": 1}
