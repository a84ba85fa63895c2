"""`evidence custody add|verify`: an append-only, hash-chained chain-of-custody log."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from evidence_cli.cli.common import (
    CONTEXT,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    Failure,
    cli,
    not_empty,
    say,
    utc_now,
)
from evidence_cli.console import counted, make_consoles, safe_text
from evidence_cli.custody import CustodyError, add, check, check_signature, hash_item, recheck_items


@cli.group("custody", context_settings=CONTEXT)
def custody() -> None:
    """Keep a chain-of-custody log: who did what with which evidence, and when.

    The log is a JSON Lines file; each entry holds the previous entry's hash, so an
    entry changed, removed, inserted or moved breaks the chain from there on, and
    `evidence custody verify` says where. Anyone who can write the file can rewrite
    all of it: keep the head `add` prints outside the log (case notes, an email,
    the signed custody form) and give it to `verify --head`.

    \b
    Example:
      evidence custody add case.custody --by "J. Doe" --action "received from DC Smith" disk.E01
      evidence custody add case.custody --by "J. Doe" --action scanned case.json
      evidence custody verify case.custody --items --head 3b1f...
    """


@custody.command("add", context_settings=CONTEXT)
@click.argument("log", type=click.Path(dir_okay=False, path_type=str), callback=not_empty)
@click.argument("items", nargs=-1, type=click.Path(dir_okay=False, path_type=str))
@click.option("--by", required=True, callback=not_empty, metavar="NAME", help="Who acts (recorded as given).")
@click.option(
    "--action",
    required=True,
    callback=not_empty,
    metavar="TEXT",
    help="What was done: received, sealed, scanned, copied, handed to ...",
)
@click.option("--note", metavar="TEXT", help="Anything else to record (seal numbers, where it is kept).")
@click.option("--case", "case_id", metavar="TEXT", help="Case number or name.")
@click.option(
    "--sign",
    "sign_with",
    metavar="KEY",
    type=click.Path(dir_okay=False, path_type=str),
    help="Sign the entry with this SSH key (a private key file, or a public key held by ssh-agent), "
    "with `ssh-keygen -Y sign`.",
)
def add_cmd(
    log: str,
    items: tuple[str, ...],
    by: str,
    action: str,
    note: str | None,
    case_id: str | None,
    sign_with: str | None,
) -> None:
    """Add an entry to a custody log (created if missing), with the files it concerns.

    Each ITEM (a disk image, a scan's manifest, an exported file) is recorded with
    its absolute path, size, MD5, SHA-1 and SHA-256, read once, read-only. The whole
    chain is checked first: nothing is added to a broken log. With --sign, the entry
    holds an OpenSSH signature (the chain covers it). Exit status: 0 added; 2 nothing
    added (a broken or unreadable log, an item that cannot be read, a failed signature).

    \b
    Example:
      evidence custody add case.custody --by "J. Doe" --action received disk.E01 --note "bag S-1234"
    """
    _, err = make_consoles()
    hashed: list[dict[str, Any]] = []
    for item in items:
        if not item:
            raise click.BadParameter("an empty item name", param_hint="ITEMS")
        if os.path.abspath(item) == os.path.abspath(log):
            raise Failure(f"{safe_text(item)} is the log itself")
        try:
            hashed.append(hash_item(item))
        except CustodyError as exc:
            raise Failure(safe_text(str(exc))) from None
        except OSError as exc:
            raise Failure(safe_text(f"cannot read {item!r}: {exc.strerror}; nothing was added")) from None
    try:
        entry = add(log, by=by, action=action, note=note, case=case_id, items=hashed, now=utc_now, sign_with=sign_with)
    except CustodyError as exc:
        raise Failure(safe_text(str(exc))) from None
    what = counted(len(hashed), "item")
    signed = ", signed" if "signature" in entry else ""
    say(err, f"Entry {entry['seq']} added to {safe_text(log)} ({what}{signed}).")
    for done in hashed:
        say(err, f"  {done['sha256']}  {safe_text(done['path'])}")
    say(err, f"Chain head: {entry['hash']}")
    say(err, "Keep the head outside the log (case notes, the custody form): `verify --head` checks it.")
    sys.exit(EXIT_OK)


@custody.command("verify", context_settings=CONTEXT)
@click.argument("log", type=click.Path(dir_okay=False, path_type=str), callback=not_empty)
@click.option(
    "--head",
    "heads",
    multiple=True,
    metavar="HASH",
    help="A chain head kept outside the log: it must be the hash of one of its entries. Repeatable.",
)
@click.option("--items", "recheck", is_flag=True, help="Hash every item again where it is now.")
@click.option(
    "--allowed-signers",
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=str),
    help="Check signatures against this OpenSSH allowed_signers file (lines 'principal key'), which names "
    "each signer. Without it a signature is checked against the key it carries.",
)
@click.option("--require-signed", is_flag=True, help="An entry without a signature breaks the check.")
def verify_cmd(
    log: str, heads: tuple[str, ...], recheck: bool, allowed_signers: str | None, require_signed: bool
) -> None:
    """Check a custody log's chain and list its entries; with --items, re-hash the items.

    Signatures are checked with `ssh-keygen -Y` (against --allowed-signers when
    given). Exit status: 0 the chain is whole (and every head given is in it, every
    signature good, and with --items every item unchanged); 1 an item is modified,
    missing or unreadable; 2 the chain is broken, a signature is bad (or missing,
    with --require-signed), a head given is not in it, or the log cannot be read.
    """
    out, err = make_consoles()
    try:
        found = check(log)
    except CustodyError as exc:
        raise Failure(safe_text(str(exc))) from None
    bad_signatures = unsigned = 0
    for e in found.entries:
        line = f"{e['seq']:>4}  {e['time_utc']}  {e['by']}: {e['action']}"
        if e["note"]:
            line += f" ({e['note']})"
        say(out, safe_text(line))
        for item in e["items"]:
            say(out, safe_text(f"      {item.get('sha256', '?')}  {item['path']}"))
        if "signature" in e:
            try:
                verdict = check_signature(e, allowed_signers)
            except CustodyError as exc:
                raise Failure(safe_text(str(exc))) from None
            bad_signatures += not verdict.good
            say(out, safe_text(f"      signature: {'good' if verdict.good else 'BAD'}: {verdict.said}"))
        else:
            unsigned += 1
            say(out, "      signature: NONE")
    for note in found.notes:
        say(err, f"Note: {safe_text(note)}")
    status = EXIT_OK
    if found.broken is not None:
        say(
            err,
            f"BROKEN at {safe_text(found.broken)}; the {counted(len(found.entries), 'entry', 'entries')} "
            "above it hold their chain.",
            "bold red",
        )
        status = EXIT_USAGE
    else:
        say(err, f"Chain whole: {counted(len(found.entries), 'entry', 'entries')}; head {found.head}.")
    if unsigned and (require_signed or allowed_signers or unsigned < len(found.entries)):
        # Beside signed entries, an unsigned one may have had its signature stripped and its
        # hash recomputed: unseen for the last entry unless its head was kept elsewhere.
        say(
            err,
            f"{counted(unsigned, 'entry is', 'entries are')} not signed"
            + (": --require-signed refuses them." if require_signed else "."),
            "bold red" if require_signed else "",
        )
        if require_signed:
            bad_signatures += unsigned
    if not found.entries and found.broken is None:
        say(err, "The log holds no entries (a log cut to nothing looks like this: --head tells).")
    if bad_signatures:
        what = counted(
            bad_signatures, "entry has a bad or missing signature", "entries have a bad or missing signature"
        )
        say(err, f"{what}.", "bold red")
        status = EXIT_USAGE
    known = {e["hash"] for e in found.entries}
    for head in heads:
        if head.strip().lower() in known:
            say(err, f"Head {safe_text(head)}: in the chain.")
        else:
            say(err, f"Head {safe_text(head)}: NOT in the chain (rewritten, or another log).", "bold red")
            status = EXIT_USAGE
    if recheck:
        bad = 0
        for state in recheck_items(found.entries):
            if state.status == "ok":
                continue
            bad += 1
            detail = f" ({state.detail})" if state.detail else ""
            say(out, safe_text(f"{state.status.upper():<10}  entry {state.entry}  {state.path}{detail}"))
        say(err, "Items: every one unchanged." if not bad else f"Items: {counted(bad, 'problem')}.")
        if bad and status == EXIT_OK:
            status = EXIT_PROBLEMS
    sys.exit(status)
