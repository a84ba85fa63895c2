"""is_plain_text must give exactly the answer of its first version (kept here as the
oracle) for every input: the faster one only reorders the byte checks, skips the UTF-8
decode for ASCII and factors the keyword alternation by common prefixes."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli.filetype import _CODE_WORDS, _word_trie, is_plain_text

_OLD_SUSPECT = (
    rb"[ \t]*(?:[#%@\\;!$`\"'=]|\.[A-Za-z\\]|//|/\*|\*/|\[[A-Za-z]|\([A-Za-z]|---|\+\+\+|\*\*\*|(?i:"
    + b"|".join(w.encode() for w in _CODE_WORDS)
    + rb")\b)"
)
_OLD_FIRST = re.compile(_OLD_SUSPECT)
_OLD_LINE = re.compile(b"\n" + _OLD_SUSPECT)


def old_is_plain_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:
            return False
    if b"<" in head or b"{" in head or b"\x1b" in head:
        return False
    return _OLD_FIRST.match(head) is None and _OLD_LINE.search(head) is None


# Pieces that exercise every branch: keywords in any case, keywords as prefixes or with a
# suffix (the word boundary), the punctuation starts, indentation, the rejected bytes and
# multi-byte characters (whole, cut, invalid).
_KEYWORDS = [w.encode() for w in _CODE_WORDS]
_PIECES = st.one_of(
    st.sampled_from(_KEYWORDS),
    st.sampled_from(_KEYWORDS).map(bytes.upper),
    st.sampled_from(_KEYWORDS).map(bytes.capitalize),
    st.sampled_from(_KEYWORDS).map(lambda w: w[:-1]),
    st.sampled_from(_KEYWORDS).map(lambda w: w + b"s"),
    st.sampled_from(_KEYWORDS).map(lambda w: w + b"_1"),
    st.sampled_from(
        [b"\n", b"\r\n", b" ", b"\t", b"  ", b"#", b"%", b"@", b"\\", b";", b"!", b"$", b"`", b'"', b"'", b"="]
        + [b".", b".a", b".\\", b"/", b"//", b"/*", b"*/", b"*", b"[", b"[x", b"(", b"(Y", b"-", b"---", b"+++"]
        + [b"***", b"<", b"{", b"\x1b", b"\x00", b"\xc3\xa9", b"\xc3", b"\xe2\x82", b"\xff", b",", b":", b"9"]
    ),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ ,.", max_size=12).map(str.encode),
    st.text(max_size=6).map(lambda s: s.encode("utf-8", "surrogatepass")),
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_PIECES, max_size=40).map(b"".join))
def test_same_answer_on_text_like_bytes(head: bytes) -> None:
    assert is_plain_text(head) == old_is_plain_text(head)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_same_answer_on_any_bytes(head: bytes) -> None:
    assert is_plain_text(head) == old_is_plain_text(head)


def test_same_answer_on_each_keyword_line() -> None:
    checked = 0
    for w in _CODE_WORDS:
        for form in (w, w.upper(), w.title(), w + "x", w[:-1], "x" + w):
            for line in (form, f"  {form} it", f"\t{form}(", f"{form}_a"):
                for head in (line.encode(), f"Plain words\n{line}\nmore".encode()):
                    assert is_plain_text(head) == old_is_plain_text(head), head
                    checked += 1
    assert checked == len(_CODE_WORDS) * 6 * 4 * 2


def test_word_trie_matches_exactly_the_words() -> None:
    pattern = re.compile(_word_trie(["do", "done", "def", "define", "if"]) + r"\Z")
    for w in ("do", "done", "def", "define", "if"):
        assert pattern.match(w)
    for w in ("d", "don", "de", "defin", "i", "dones", "ifx", ""):
        assert not pattern.match(w)


def test_known_answers() -> None:
    assert is_plain_text(b"Hello there,\nhow are you?\n")
    assert not is_plain_text(b"Hello\nimport os\n")
    assert not is_plain_text(b"Hello\n  IF x\n")
    assert is_plain_text(b"Hello\nimported goods\n")
    assert is_plain_text("Caf\u00e9 cr\u00e8me\n".encode()[:-2] + b"\xc3")  # cut character
    assert not is_plain_text(b"\xff\xfe bad bytes here, far from the end")
    assert not is_plain_text(b"{}")
    assert not is_plain_text(b"")
