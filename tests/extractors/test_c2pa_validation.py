"""C2PA validation by the C2PA SDK: files signed here (a test CA and signer made with
`cryptography`, the manifest embedded by the SDK's own Builder), then read as evidence:
good, content changed after signing, claim changed after signing, trusted when the
examiner gives the CA, never online, and said plainly when the SDK is missing."""

from __future__ import annotations

import datetime as dt
import http.server
import io
import json
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

c2pa = pytest.importorskip("c2pa", reason="c2pa-python (the [c2pa] extra, in [test]) is not installed")

from cryptography import x509  # noqa: E402 - (c2pa-python needs it: there whenever c2pa is)
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

from evidence_cli import scan  # noqa: E402
from evidence_cli.formats import c2pa_validation  # noqa: E402
from evidence_cli.formats.c2pa_validation import validate  # noqa: E402
from tests.builders import jpeg_bytes  # noqa: E402

AI = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Org")]
    )


def _certificate(
    subject: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, issuer_key: ec.EllipticCurvePrivateKey, ca: bool
) -> x509.Certificate:
    """A CA's certificate, or a signer's as C2PA wants it (digital signature, email
    protection, key identifiers), valid 2025-2035."""
    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(1 if ca else 2)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = (
            builder.add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    """A test CA and a signer certificate it issued, as C2PA wants a signer's to be."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Test CA", _name("Test CA"), ca_key, ca_key, ca=True)
    leaf = _certificate("Test Signer", ca.subject, key, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    return {
        "chain": leaf.public_bytes(pem) + ca.public_bytes(pem),
        "key": key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        "ca": ca.public_bytes(pem).decode("ascii"),
    }


@pytest.fixture(scope="module")
def signed(keys: dict[str, Any]) -> bytes:
    """A JPEG whose Content Credentials say a generator made it, signed."""
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, keys["chain"], keys["key"], None))
    manifest = {
        "claim_generator_info": [{"name": "EvidenceTestGen", "version": "1.0"}],
        "title": "generated.jpg",
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": AI}]}}
        ],
    }
    out = io.BytesIO()
    with c2pa.Builder(manifest) as builder:
        builder.sign(signer, "image/jpeg", io.BytesIO(jpeg_bytes(size=(24, 16))), out)
    return out.getvalue()


def _record(tmp_path: Path, data: bytes, name: str = "x.jpg", workers: int = 0) -> dict[str, Any]:
    (tmp_path / name).write_bytes(data)
    from evidence_cli.scanner import ScanOptions

    (rec,) = [r.to_dict() for r in scan([str(tmp_path)], ScanOptions(workers=workers))]
    return rec


def test_a_good_signature_is_valid_but_not_trusted_without_anchors(tmp_path: Path, signed: bytes) -> None:
    rec = _record(tmp_path, signed, workers=2)  # (in a worker process, as a real scan)
    c = rec["metadata"]["c2pa"]
    v = c["validation"]
    assert (
        c["claim_generator_info"] == ["EvidenceTestGen 1.0"] and c["signer"]["subject"] == "CN=Test Signer, O=Test Org"
    )
    assert (v["state"], v["signature"], v["content_hashes"], v["signer_trusted"]) == ("valid", "valid", "match", False)
    assert v["validator"].startswith("c2pa-rs ") and v["trust_anchors_sha256"] is None
    assert v["signed_by"] == "Test Signer"
    assert [f["code"] for f in v["failures"]] == ["signingCredential.untrusted"]
    codes = [f["code"] for f in rec["findings"]]
    assert codes == ["c2pa-manifest", "ai-generated"]
    message = rec["findings"][0]["message"]
    assert "signature and content hashes hold" in message and "not on a trust list (none given)" in message


def test_pixels_changed_after_signing_are_invalid(tmp_path: Path, signed: bytes) -> None:
    changed = bytearray(signed)
    changed[-10] ^= 0x55  # the entropy-coded data, just before EOI: covered by c2pa.hash.data
    rec = _record(tmp_path, bytes(changed))
    v = rec["metadata"]["c2pa"]["validation"]
    assert (v["state"], v["signature"], v["content_hashes"]) == ("invalid", "valid", "mismatch")
    assert "assertion.dataHash.mismatch" in [f["code"] for f in v["failures"]]
    (invalid,) = [f for f in rec["findings"] if f["code"] == "c2pa-invalid"]
    assert invalid["severity"] == "warning"
    assert "bytes changed after it was signed" in invalid["message"] and "dataHash.mismatch" in invalid["message"]
    assert "signingCredential.untrusted" not in invalid["evidence"]["codes"]
    assert "INVALID" in rec["findings"][0]["message"]


def test_a_claim_changed_after_signing_does_not_verify(signed: bytes) -> None:
    at = signed.index(b"EvidenceTestGen")  # the generator's name inside the signed claim
    changed = signed[:at] + b"EvidenceFakeGen" + signed[at + 15 :]
    v = validate(io.BytesIO(changed), "image/jpeg")
    assert v["state"] == "invalid" and v["signature"] == "invalid"
    assert any(f["code"].startswith("claimSignature.") for f in v["failures"])


def test_the_examiners_trust_anchors_make_it_trusted(keys: dict[str, Any], signed: bytes) -> None:
    v = validate(io.BytesIO(signed), "image/jpeg", trust_pem=keys["ca"])
    assert (v["state"], v["signer_trusted"], v["failures"]) == ("trusted", True, [])
    assert v["trust_anchors_sha256"] == c2pa_validation.anchors_sha256(keys["ca"])


def test_a_truncated_file_is_not_valid(signed: bytes) -> None:
    v = validate(io.BytesIO(signed[: len(signed) // 2]), "image/jpeg")
    assert v["state"] in ("invalid", "unreadable")


@pytest.fixture()
def listener() -> Iterator[tuple[str, list[str]]]:
    """A local web server that records every request made to it."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def test_never_fetches_the_remote_manifest_a_file_names(listener: tuple[str, list[str]]) -> None:
    # A JPEG whose XMP names a remote manifest (dcterms:provenance): by default the SDK
    # would fetch it, telling whoever controls that address that the file is examined.
    url, hits = listener
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description xmlns:dcterms="http://purl.org/dc/terms/" dcterms:provenance="{url}/m.c2pa"/>'
        "</rdf:RDF></x:xmpmeta>"
    ).encode()
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + xmp
    jpeg = jpeg_bytes()
    data = jpeg[:2] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]
    v = validate(io.BytesIO(data), "image/jpeg")
    assert v["state"] == "unreadable" and hits == []


def test_without_the_sdk_the_record_says_not_validated_and_why(
    tmp_path: Path, signed: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "c2pa", None)  # import c2pa -> ImportError
    rec = _record(tmp_path, signed)
    v = rec["metadata"]["c2pa"]["validation"]
    assert (v["state"], v["validator"]) == ("not-run", None)
    assert "pip install 'evidence-cli[c2pa]'" in v["error"]
    assert [f["code"] for f in rec["findings"]] == ["c2pa-manifest", "ai-generated"]
    assert "Not validated: c2pa-python is not installed" in rec["findings"][0]["message"]


def test_a_type_the_sdk_does_not_read_is_said(signed: bytes) -> None:
    v = validate(io.BytesIO(signed), "image/x-canon-cr2")
    assert v["state"] == "not-run" and "does not read" in v["error"] and v["validator"]


def test_the_report_is_json_safe(signed: bytes) -> None:
    v = validate(io.BytesIO(signed), "image/jpeg")
    assert json.loads(json.dumps(v)) == v


def test_cli_trust_anchors_are_used_and_recorded(tmp_path: Path, keys: dict[str, Any], signed: bytes) -> None:
    from click.testing import CliRunner

    from evidence_cli.cli import cli

    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "generated.jpg").write_bytes(signed)
    anchors = tmp_path / "anchors.pem"
    anchors.write_text(keys["ca"])
    out = tmp_path / "scan.json"
    result = CliRunner().invoke(cli, ["scan", str(evidence), "--c2pa-trust", str(anchors), "--json", str(out)])
    assert result.exit_code in (0, 1), result.output
    doc = json.loads(out.read_text())
    (rec,) = doc["files"]
    v = rec["metadata"]["c2pa"]["validation"]
    assert (v["state"], v["signer_trusted"]) == ("trusted", True)
    assert doc["scan"]["options"]["c2pa_trust_sha256"] == c2pa_validation.anchors_sha256(keys["ca"])
    assert v["trust_anchors_sha256"] == doc["scan"]["options"]["c2pa_trust_sha256"]
    assert doc["tool"]["components"]["c2pa_python"] == c2pa.__version__
    assert "signer chains to a trust anchor given" in rec["findings"][0]["message"]


def test_cli_refuses_a_trust_file_without_certificates(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from evidence_cli.cli import cli

    bad = tmp_path / "anchors.pem"
    bad.write_text("not a certificate\n")
    result = CliRunner().invoke(cli, ["scan", str(tmp_path), "--c2pa-trust", str(bad)])
    assert result.exit_code == 2 and "holds no PEM certificate" in result.output


def test_a_time_limit_during_validation_voids_the_verdict(
    tmp_path: Path, signed: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK reads through Python callbacks: a limit raised inside one is swallowed by the
    # binding and the SDK hashes a short read, so its "invalid" would be false. Here the
    # limit arrives during validation (counted as the alarm and the watchdog count it).
    from evidence_cli import threadlimit

    real = c2pa_validation.validate

    def interrupted(*args: Any) -> dict[str, Any]:
        threadlimit.limit_raised()
        return {**real(*args), "state": "invalid", "content_hashes": "mismatch"}

    monkeypatch.setattr(c2pa_validation, "validate", interrupted)
    rec = _record(tmp_path, signed)
    c = rec["metadata"]["c2pa"]
    assert c["validation"]["state"] == "not-run" and "time limit" in c["validation"]["error"]
    assert c["claim_generator_info"] == ["EvidenceTestGen 1.0"]  # what it says is kept
    assert "c2pa-invalid" not in [f["code"] for f in rec["findings"]]
    assert any("validation stopped at the time limit" in e["message"] for e in rec["errors"])


def test_the_sdk_gets_a_stream_it_cannot_write_and_whose_interruptions_are_read_errors() -> None:
    from evidence_cli.scanner import TimeLimitExceeded

    class Stopping(io.BytesIO):
        def readinto(self, buffer: Any) -> int:
            raise TimeLimitExceeded()

    stream = c2pa_validation._ReadOnly(Stopping(b"abc"))
    with pytest.raises(OSError, match="interrupted"):
        stream.readinto(bytearray(4))
    with pytest.raises(OSError, match="read-only"):
        stream.write(b"x")
    plain = c2pa_validation._ReadOnly(io.BytesIO(b"abcdef"))
    assert (plain.seek(2), plain.read(2), plain.tell()) == (2, b"cd", 4)


#: The parts of the SDK's report that matter here, as c2pa-rs 0.91 gave them for a JPEG
#: countersigned by a time-stamp authority (c2pa-rs's own test fixture C.jpg), cut down.
TSA_REPORT: dict[str, Any] = {
    "active_manifest": "urn:uuid:m",
    "manifests": {
        "urn:uuid:m": {
            "signature_info": {
                "alg": "Ps256",
                "issuer": "C2PA Test Signing Cert",
                "common_name": "C2PA Signer",
                "time": "2024-08-06T21:53:37+00:00",
            }
        }
    },
    "validation_results": {
        "activeManifest": {
            "success": [
                {
                    "code": "timeStamp.validated",
                    "explanation": "timestamp message digest matched: DigiCert Timestamp 2023",
                },
                {"code": "timeStamp.trusted", "explanation": "legacy timestamp cert trusted: DigiCert Timestamp 2023"},
                {"code": "claimSignature.validated", "explanation": "claim signature valid"},
                {"code": "assertion.dataHash.match", "explanation": "data hash valid"},
            ],
            "failure": [{"code": "signingCredential.untrusted", "explanation": "signing certificate untrusted"}],
        }
    },
    "validation_status": [{"code": "signingCredential.untrusted", "explanation": "signing certificate untrusted"}],
    "validation_state": "Valid",
}


def test_a_validated_time_stamp_is_read_from_the_sdks_report() -> None:
    v = c2pa_validation._verdict(TSA_REPORT)
    assert (v["state"], v["signature"], v["content_hashes"], v["timestamp"]) == ("valid", "valid", "match", "validated")
    assert (v["signed_by"], v["signed_at"]) == ("C2PA Signer", "2024-08-06T21:53:37+00:00")
    broken = {**TSA_REPORT, "validation_status": [{"code": "timeStamp.mismatch", "explanation": "x"}]}
    assert c2pa_validation._verdict(broken)["timestamp"] == "invalid"


@pytest.mark.parametrize("stamp, kept", [("validated", True), ("invalid", False), (None, False)])
def test_only_a_validated_time_stamp_becomes_a_timestamp(
    tmp_path: Path, signed: bytes, monkeypatch: pytest.MonkeyPatch, stamp: str | None, kept: bool
) -> None:
    real = c2pa_validation.validate

    def with_stamp(*args: Any) -> dict[str, Any]:
        return {**real(*args), "timestamp": stamp, "signed_at": "2024-08-06T21:53:37+00:00"}

    monkeypatch.setattr(c2pa_validation, "validate", with_stamp)
    rec = _record(tmp_path, signed)
    got = [t for t in rec["timestamps"] if t["source"] == "c2pa"]
    if kept:
        assert got == [
            {
                "name": "C2PATimeStamp",
                "source": "c2pa",
                "value": "2024-08-06T21:53:37+00:00",
                "utc": "2024-08-06T21:53:37Z",
                "raw": "2024-08-06T21:53:37+00:00",
                "offset_origin": "stored",
            }
        ]
    else:
        assert got == []
    assert rec["captured"] is None  # a time the manifest existed by, never a capture time
