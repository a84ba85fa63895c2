"""C2PA Content Credentials, validated by the C2PA reference SDK (c2pa-rs, through c2pa-python).

Our own reader (:mod:`evidence_cli.formats.c2pa`) says what a manifest *claims*. Whether
the claim holds is a different question, and the one a court asks: is the signature over
the claim good, do the hashes of its assertions match, do the hashes that bind it to the
content (``c2pa.hash.data``, ``c2pa.hash.bmff``, ``c2pa.hash.boxes``) still match the
file's bytes, was the signer's certificate valid when it signed, and does it chain to a
trust anchor? That is the C2PA specification's validation, and the Content Authenticity
Initiative's own SDK does it; we would only be writing a weaker copy of it, so we call it.

It is an optional dependency (``pip install 'evidence-cli[c2pa]'``: a 50 MB native library
with no wheel for every platform). Without it every manifest says ``state: not-run`` and
why.

Never online. By default the SDK fetches a *remote manifest* whose URL the file names, and
may fetch OCSP answers for the signer's certificate: a URL inside hostile evidence is the
sender's, and fetching it would tell them the file is being examined. Both are switched
off here, for every read. Trust is only what the examiner gives (``--c2pa-trust``, PEM
anchors, such as the C2PA trust list they downloaded themselves): with none, a good
signature is ``valid`` and never ``trusted``.

The SDK reads the whole file (the content hashes cover it) through the read-only stream we
give it, and is never given a path: nothing here can write.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any, BinaryIO, Callable, TypeVar

_T = TypeVar("_T")

#: Our MIME types (libmagic's) -> the format name the SDK knows.
_FORMATS = {
    "image/jpeg": "image/jpeg",
    "image/png": "image/png",
    "image/apng": "image/png",
    "image/webp": "image/webp",
    "image/tiff": "image/tiff",
    "image/x-adobe-dng": "image/dng",
    "audio/mpeg": "audio/mpeg",
    "audio/mp3": "audio/mpeg",
    "audio/x-mp3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg",
    "audio/x-wav": "audio/wav",
    "audio/wav": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "video/x-msvideo": "video/x-msvideo",
    "video/avi": "video/x-msvideo",
    # ISO base media files: the SDK reads them all with one BMFF reader.
    "video/mp4": "video/mp4",
    "video/quicktime": "video/quicktime",
    "video/3gpp": "video/mp4",
    "video/3gpp2": "video/mp4",
    "video/x-m4v": "video/x-m4v",
    "audio/mp4": "audio/mp4",
    "audio/x-m4a": "audio/mp4",
    "image/heic": "image/heic",
    "image/heif": "image/heif",
    "image/heic-sequence": "image/heic",
    "image/heif-sequence": "image/heif",
    "image/avif": "image/avif",
    "image/avif-sequence": "image/avif",
}

#: The validation codes (C2PA 2.x, section 15) that say the content no longer matches.
_CONTENT_MATCH = ("assertion.dataHash.match", "assertion.bmffHash.match", "assertion.boxesHash.match")
_CONTENT_MISMATCH = ("assertion.dataHash.mismatch", "assertion.bmffHash.mismatch", "assertion.boxesHash.mismatch")
MAX_FAILURES = 20
MAX_TEXT = 300

_lock = threading.Lock()
_contexts: dict[str | None, Any] = {}


def sdk_versions() -> str | None:
    """``c2pa-rs X (c2pa-python Y)``, or None when c2pa-python is not installed (or
    its native library will not load)."""
    try:
        import c2pa
    except Exception:  # noqa: BLE001 - not installed, or its native library missing
        return None
    return f"c2pa-rs {c2pa.sdk_version()} (c2pa-python {c2pa.__version__})"


def stopped(reason: str, trust_pem: str | None) -> dict[str, Any]:
    """The record's ``validation`` when the SDK's check was stopped before its verdict."""
    return {
        "state": "not-run",
        "validator": sdk_versions(),
        "trust_anchors_sha256": anchors_sha256(trust_pem),
        "error": reason,
    }


def installed_version() -> str | None:
    """c2pa-python's version from its package metadata (no import: cheap), or None."""
    from importlib import metadata

    try:
        return metadata.version("c2pa-python")
    except metadata.PackageNotFoundError:
        return None


def anchors_sha256(pem: str | None) -> str | None:
    return hashlib.sha256(pem.encode("utf-8")).hexdigest() if pem else None


def _context(trust_pem: str | None) -> Any:
    """One SDK context per trust setting for this process: offline, and trusting only
    ``trust_pem``."""
    import c2pa

    with _lock:
        ctx = _contexts.get(trust_pem)
        if ctx is None:
            settings: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
            if trust_pem:
                settings["trust"] = {"trust_anchors": trust_pem}
            ctx = c2pa.Context(settings=c2pa.Settings.from_dict(settings))
            _contexts[trust_pem] = ctx
        return ctx


class _ReadOnly:
    """The evidence as the SDK's binding wants a stream: it can read and seek, never write.
    An interruption (the time limit) inside a read becomes an OSError, which the binding
    hands to the SDK as a failed read, instead of escaping a C callback (where it would be
    printed and taken for the end of the file)."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh

    def readinto(self, buffer: Any) -> int:
        return _uninterrupted(self._fh.readinto, buffer)  # type: ignore[attr-defined]

    def read(self, size: int = -1) -> bytes:
        return _uninterrupted(self._fh.read, size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def write(self, data: bytes) -> int:
        raise OSError("evidence is read-only")

    def flush(self) -> None:
        pass


def _uninterrupted(read: Callable[[Any], _T], arg: Any) -> _T:
    """``read(arg)``, with an interruption that is not an error (a BaseException: the time
    limit) turned into an OSError."""
    try:
        return read(arg)
    except Exception:
        raise
    except BaseException as exc:
        raise OSError(f"read interrupted ({type(exc).__name__})") from exc


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "..."


def validate(fh: BinaryIO, mime: str | None, trust_pem: str | None = None) -> dict[str, Any]:
    """The SDK's verdict on the manifest store in ``fh`` (read from its start), as the
    record's ``validation``. Never raises for what the file holds."""
    out: dict[str, Any] = {"state": "not-run", "validator": None, "trust_anchors_sha256": anchors_sha256(trust_pem)}
    fmt = _FORMATS.get(mime or "")
    try:
        import c2pa
    except Exception as exc:  # noqa: BLE001 - not installed, or its native library missing
        out["error"] = (
            "c2pa-python is not installed (pip install 'evidence-cli[c2pa]')"
            if isinstance(exc, ImportError)
            else f"the C2PA SDK could not be loaded: {_short(str(exc))}"
        )
        return out
    out["validator"] = sdk_versions()
    if fmt is None:
        out["error"] = f"the C2PA SDK does not read {_short(mime)} files"
        return out
    try:
        fh.seek(0)
        with c2pa.Reader(fmt, _ReadOnly(fh), context=_context(trust_pem)) as reader:
            report = json.loads(reader.json())
    except c2pa.C2paError as exc:
        # The SDK could not read the store at all (damaged, forged by hand, a claim
        # version it does not know): for an examiner, not a valid manifest.
        out["state"] = "unreadable"
        out["error"] = _short(str(exc))
        return out
    except (ValueError, OSError) as exc:
        out["state"] = "unreadable"
        out["error"] = _short(f"{type(exc).__name__}: {exc}")
        return out
    return {**out, **_verdict(report)}


def _codes(entries: Any) -> list[dict[str, str]]:
    if not isinstance(entries, list):
        return []
    return [
        {"code": _short(e.get("code")), "explanation": _short(e.get("explanation") or "")}
        for e in entries
        if isinstance(e, dict)
    ]


def _verdict(report: dict[str, Any]) -> dict[str, Any]:
    """Our summary of the SDK's report: its state, and what each part of the check found."""
    state = report.get("validation_state")
    active = (report.get("validation_results") or {}).get("activeManifest") or {}
    passed = {c["code"] for c in _codes(active.get("success"))}
    failures = _codes(report.get("validation_status"))
    failed = {c["code"] for c in failures}
    out: dict[str, Any] = {
        "state": {"Trusted": "trusted", "Valid": "valid", "Invalid": "invalid"}.get(str(state), "invalid"),
        "sdk_state": _short(state),
    }
    if any(
        c.startswith("claimSignature.") and c not in ("claimSignature.validated", "claimSignature.insideValidity")
        for c in failed
    ):
        out["signature"] = "invalid"
    elif "claimSignature.validated" in passed:
        out["signature"] = "valid"
    else:
        out["signature"] = None
    if failed & set(_CONTENT_MISMATCH):
        out["content_hashes"] = "mismatch"
    elif passed & set(_CONTENT_MATCH):
        out["content_hashes"] = "match"
    else:
        out["content_hashes"] = None
    # The time-stamp authority's countersignature over the signature (RFC 3161): the SDK
    # checks that its digest covers this signature ("timeStamp.validated").
    if any(c.startswith("timeStamp.") and c not in ("timeStamp.validated", "timeStamp.trusted") for c in failed):
        out["timestamp"] = "invalid"
    elif "timeStamp.validated" in passed:
        out["timestamp"] = "validated"
    else:
        out["timestamp"] = None
    out["signer_trusted"] = out["state"] == "trusted" or (False if "signingCredential.untrusted" in failed else None)
    manifests = report.get("manifests") or {}
    info = (
        (manifests.get(report.get("active_manifest")) or {}).get("signature_info")
        if isinstance(manifests, dict)
        else None
    )
    if isinstance(info, dict):
        out["signed_by"] = _short(info.get("common_name") or info.get("issuer") or "") or None
        if info.get("time"):
            out["signed_at"] = _short(info.get("time"))
    out["failures"] = failures[:MAX_FAILURES]
    if len(failures) > MAX_FAILURES:
        out["failures_cut"] = len(failures) - MAX_FAILURES
    return out
