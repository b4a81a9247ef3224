"""RFC 3161 client tests against a throw-away TSA on 127.0.0.1 (own key + cert)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import text
from sqlalchemy.orm import Session

from haechi.store.custody import CustodyAction, CustodyEvent, append
from haechi.store.custody_problems import ProblemKind
from haechi.store.custody_verify import verify
from haechi.store.tsa import (
    TimestampError,
    TSAConfig,
    anchors_from_timestamps,
    build_request,
    timestamp_head,
    verify_token,
)


def make_tsa_identity(*, eku: bool = True) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
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


@pytest.fixture
def fake_tsa() -> Iterator[tuple[FakeTSA, str]]:
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


def _config(tsa_state: FakeTSA, url: str) -> TSAConfig:
    return TSAConfig(url=url, cert=tsa_state.cert, timeout=10, trust_env=False)


def _log(session: Session) -> None:
    for i in range(3):
        append(session, CustodyEvent("victim", CustodyAction.VIEWED, f"case:{i}"))
    session.commit()


def test_build_request_round_trips() -> None:
    digest = hashlib.sha256(b"x").digest()
    req = tsp.TimeStampReq.load(build_request(digest, 12345))
    assert req["message_imprint"]["hashed_message"].native == digest
    assert req["nonce"].native == 12345 and req["cert_req"].native is True


def test_timestamp_head_stores_verified_token(
    session: Session, fake_tsa: tuple[FakeTSA, str]
) -> None:
    tsa_state, url = fake_tsa
    _log(session)
    row = timestamp_head(session, _config(tsa_state, url))
    session.commit()
    assert row.seq == 3 and len(tsa_state.requests) == 1
    assert abs(row.gen_time.replace(tzinfo=UTC) - datetime.now(UTC)) < timedelta(minutes=1)
    info = verify_token(row.token, bytes.fromhex(row.head_hash), tsa_state.cert)
    assert info.serial == int(row.serial)
    # the token is an anchor for the chain
    anchors = anchors_from_timestamps(session, tsa_state.cert)
    rep = verify(session, anchors=anchors)
    assert rep.ok, rep.render()
    assert "RFC 3161 token" in rep.render()
    # a token for another hash does not verify
    with pytest.raises(TimestampError, match="imprint"):
        verify_token(row.token, hashlib.sha256(b"other").digest(), tsa_state.cert)
    # a token checked against another (unpinned) TSA certificate is refused
    _other_key, other_cert = make_tsa_identity()
    with pytest.raises(TimestampError, match="not signed by the configured TSA"):
        verify_token(row.token, bytes.fromhex(row.head_hash), other_cert)


def test_token_anchor_detects_truncation(session: Session, fake_tsa: tuple[FakeTSA, str]) -> None:
    tsa_state, url = fake_tsa
    _log(session)
    timestamp_head(session, _config(tsa_state, url))
    session.commit()
    h2 = session.execute(text("SELECT entry_hash FROM custody_log WHERE seq = 2")).scalar_one()
    session.execute(text("DELETE FROM custody_log WHERE seq = 3"))
    session.execute(text("UPDATE custody_head SET last_seq = 2, head_hash = :h"), {"h": h2})
    session.commit()
    session.expire_all()
    rep = verify(session, anchors=anchors_from_timestamps(session, tsa_state.cert))
    assert rep.kinds() == {ProblemKind.LOG_TRUNCATED}, rep.render()


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("wrong_imprint", "imprint"),
        ("wrong_nonce", "nonce"),
        ("reject", "refused.*rejection.*policy says no"),
        ("bad_signature", "signature is invalid"),
        ("stale", "away from local clock"),
    ],
)
def test_bad_responses_rejected(
    session: Session, fake_tsa: tuple[FakeTSA, str], mode: str, message: str
) -> None:
    tsa_state, url = fake_tsa
    _log(session)
    tsa_state.mode = mode
    with pytest.raises(TimestampError, match=message):
        timestamp_head(session, _config(tsa_state, url))


def test_cert_without_timestamping_eku_rejected(
    session: Session, fake_tsa: tuple[FakeTSA, str]
) -> None:
    tsa_state, url = fake_tsa
    key, cert = make_tsa_identity(eku=False)
    tsa_state.key, tsa_state.cert = key, cert
    _log(session)
    with pytest.raises(TimestampError, match="timeStamping"):
        timestamp_head(session, _config(tsa_state, url))


def test_unreachable_tsa_is_a_clear_error(session: Session) -> None:
    _key, cert = make_tsa_identity()
    cfg = TSAConfig(url="http://127.0.0.1:9/tsa", cert=cert, timeout=2, trust_env=False)
    with pytest.raises(TimestampError, match="could not reach the TSA"):
        timestamp_head(session, cfg)
