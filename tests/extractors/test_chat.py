"""WhatsApp chat exports: both layouts, the date orders of every language, and the damage."""

from __future__ import annotations

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
