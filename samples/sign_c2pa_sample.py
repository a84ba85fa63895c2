#!/usr/bin/env python3
"""Make samples/jpeg_c2pa_signed.jpg: the 32x24 JPEG of make_samples.py with real C2PA
Content Credentials, embedded and signed by the C2PA SDK (c2pa-python) with a throwaway
test CA and signer made here ("Example Camera Co (test key)"): a manifest that validates
(its signer on no trust list) as a camera's would.

Run once by hand (it needs the [c2pa] extra); the file it wrote is committed. It cannot be
made again byte for byte (the SDK salts every assertion at random, ECDSA signatures are
random, and the keys are new each run), so make_samples.py takes the committed file as it
is and makes from it the copy altered after signing. The keys are never written anywhere.

    python samples/sign_c2pa_sample.py
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import sys
from pathlib import Path

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = Path(__file__).resolve().parent
OUT = HERE / "jpeg_c2pa_signed.jpg"
CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "XX"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Camera Co (test key)"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _certificate(
    subject: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, signer: ec.EllipticCurvePrivateKey, ca: bool
) -> x509.Certificate:
    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    usage = (
        (False, False, False, False, False, True, True, False, False)
        if ca
        else (True, False, False, False, False, False, False, False, False)
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(*usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def main() -> int:
    spec = importlib.util.spec_from_file_location("make_samples", HERE / "make_samples.py")
    assert spec is not None and spec.loader is not None
    make = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = make
    spec.loader.exec_module(make)

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Example Camera Co Test CA", _name("Example Camera Co Test CA"), ca_key, ca_key, ca=True)
    leaf = _certificate("Example Camera Co Signing", ca.subject, key, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    chain = leaf.public_bytes(pem) + ca.public_bytes(pem)
    private = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, private, None))
    manifest = {
        "claim_generator_info": [{"name": "ExampleCam Firmware", "version": "3.2"}],
        "title": "IMG_2041.jpg",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {"action": "c2pa.created", "when": "2025-09-12T08:30:00Z", "digitalSourceType": CAPTURE}
                    ]
                },
            }
        ],
    }
    out = io.BytesIO()
    # (No thumbnail: the SDK's would be larger than this 32x24 picture.)
    context = c2pa.Context(settings=c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}}))
    with c2pa.Builder(manifest, context=context) as builder:
        builder.sign(signer, "image/jpeg", io.BytesIO(make.JPEG_32X24), out)
    OUT.write_bytes(out.getvalue())
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
