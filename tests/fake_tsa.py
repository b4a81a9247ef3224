"""A throw-away RFC 3161 time-stamping authority (own key and certificate) on 127.0.0.1, for the
tests that timestamp the custody log: `FakeTSA` answers requests (or answers them wrongly, by
`mode`); `serving_fake_tsa` serves one over HTTP. The `fake_tsa` fixture (conftest.py) uses it."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def make_tsa_identity(*, eku: bool = True) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A TSA's own key and self-signed certificate (marked for time-stamping unless not `eku`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "haechi test TSA")])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
    )
    if eku:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return key, builder.sign(key, hashes.SHA256())


@dataclass
class FakeTSA:
    """A TSA that answers RFC 3161 requests with tokens signed by `key`; `mode` makes it answer
    wrongly on purpose. It records the requests it was sent."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    mode: str = "ok"  # ok | wrong_imprint | wrong_nonce | reject | bad_signature | stale
    requests: list[bytes] = field(default_factory=list)
    serial: int = 1000

    def respond(self, body: bytes) -> bytes:
        self.requests.append(body)
        req = tsp.TimeStampReq.load(body)
        if self.mode == "reject":
            # asn1crypto models time_stamp_token as mandatory: build SEQUENCE { status } by hand
            status = bytes(
                tsp.PKIStatusInfo(
                    {"status": "rejection", "status_string": ["policy says no"]}
                ).dump()
            )
            assert len(status) < 128
            return b"\x30" + bytes([len(status)]) + status
        imprint = req["message_imprint"]
        hashed = bytes(imprint["hashed_message"].native)
        if self.mode == "wrong_imprint":
            hashed = hashlib.sha256(b"something else").digest()
        nonce = int(req["nonce"].native)
        if self.mode == "wrong_nonce":
            nonce += 1
        self.serial += 1
        gen_time = datetime.now(UTC)
        if self.mode == "stale":
            gen_time -= timedelta(hours=3)
        tst = tsp.TSTInfo(
            {
                "version": "v1",
                "policy": "1.3.6.1.4.1.99999.1",
                "message_imprint": {
                    "hash_algorithm": {"algorithm": "sha256"},
                    "hashed_message": hashed,
                },
                "serial_number": self.serial,
                "gen_time": gen_time.replace(microsecond=0),
                "nonce": nonce,
            }
        )
        tst_der = bytes(tst.dump())
        cert_der = self.cert.public_bytes(Encoding.DER)
        a_cert = asn1_x509.Certificate.load(cert_der)
        signed_attrs = cms.CMSAttributes(
            [
                {"type": "content_type", "values": ["tst_info"]},
                {"type": "message_digest", "values": [hashlib.sha256(tst_der).digest()]},
                {
                    "type": "signing_certificate_v2",
                    "values": [
                        {
                            "certs": [
                                {
                                    "hash_algorithm": {"algorithm": "sha256"},
                                    "cert_hash": hashlib.sha256(cert_der).digest(),
                                }
                            ],
                        }
                    ],
                },
            ]
        )
        signer_key = self.key
        if self.mode == "bad_signature":
            signer_key = ec.generate_private_key(ec.SECP256R1())
        signature = signer_key.sign(bytes(signed_attrs.dump()), ec.ECDSA(hashes.SHA256()))
        signed_data = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
                "encap_content_info": {
                    "content_type": "tst_info",
                    "content": core.ParsableOctetString(tst_der),
                },
                "certificates": [a_cert],
                "signer_infos": [
                    {
                        "version": "v1",
                        "sid": cms.SignerIdentifier(
                            {
                                "issuer_and_serial_number": {
                                    "issuer": a_cert.issuer,
                                    "serial_number": a_cert.serial_number,
                                }
                            }
                        ),
                        "digest_algorithm": {"algorithm": "sha256"},
                        "signed_attrs": signed_attrs,
                        "signature_algorithm": {"algorithm": "sha256_ecdsa"},
                        "signature": signature,
                    }
                ],
            }
        )
        resp = tsp.TimeStampResp(
            {
                "status": {"status": "granted"},
                "time_stamp_token": {"content_type": "signed_data", "content": signed_data},
            }
        )
        return bytes(resp.dump())


@contextlib.contextmanager
def serving_fake_tsa() -> Iterator[tuple[FakeTSA, str]]:
    """A FakeTSA with a fresh identity, served over HTTP on 127.0.0.1 while the block runs: the
    TSA and its URL."""
    key, cert = make_tsa_identity()
    tsa_state = FakeTSA(key, cert)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            if self.headers.get("Content-Type") != "application/timestamp-query":
                self.send_response(415)
                self.end_headers()
                return
            out = tsa_state.respond(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tsa_state, f"http://127.0.0.1:{server.server_address[1]}/tsa"
    finally:
        server.shutdown()
        server.server_close()
