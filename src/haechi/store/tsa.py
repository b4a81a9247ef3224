"""RFC 3161 trusted-timestamp client for the custody chain head. The TSA only ever sees a hash;
this module is the one place in the evidence code that opens a network connection.

``timestamp_head`` asks a Time-Stamp Authority to sign the current head hash
of the custody log and stores the token in ``custody_timestamp``.  A token
proves that the log up to that entry existed, unchanged, no later than the
TSA's ``genTime`` (the TSA never sees the evidence, only a hash).

Checks done on every response: PKIStatus granted, the token is CMS SignedData
over a TSTInfo, message imprint = our SHA-256, nonce = ours, genTime present
(and, optionally, close to the local clock), the signer is the configured TSA
certificate (ESS signing-certificate-v2 hash when present, else issuer+serial),
the certificate is valid at genTime and has the critical timeStamping EKU, the
CMS message-digest attribute matches the TSTInfo, and the signature (RSA
PKCS#1 v1.5 / ECDSA, SHA-256/384/512) verifies with the certificate's key.

Not done: certificate chain building / revocation (the TSA certificate is
pinned by the caller instead), RSA-PSS signatures, unsigned-attribute checks.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from haechi.errors import IntegrityError
from haechi.i18n import _
from haechi.store.custody_anchor import HEAD_ROW_ID, HeadAnchor
from haechi.store.custody_hash import GENESIS_HASH
from haechi.store.evidence_models import CustodyHead, CustodyTimestamp

__all__ = [
    "CustodyTimestamp",
    "TSAConfig",
    "TimestampError",
    "TokenInfo",
    "anchors_from_timestamps",
    "build_request",
    "load_certificate",
    "parse_response",
    "request_timestamp",
    "timestamp_head",
    "verify_token",
]

_HASHES: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class _TimeStampResp(core.Sequence):  # type: ignore[misc]
    """RFC 3161 TimeStampResp; asn1crypto's own marks the token as mandatory,
    which makes every *rejection* (status only) unparsable."""

    _fields = [  # noqa: RUF012 - asn1crypto API
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


class TimestampError(IntegrityError):
    """The TSA refused, or its answer does not check out."""


@dataclass(frozen=True)
class TSAConfig:
    """How to reach one RFC 3161 time-stamping authority: its URL and pinned signing certificate,
    timeout, allowed clock skew and requested policy."""

    url: str
    cert: x509.Certificate  # the TSA's signing certificate, pinned
    timeout: float = 30.0
    max_clock_skew: timedelta | None = timedelta(minutes=10)
    policy: str | None = None  # requested policy OID (dotted), optional
    trust_env: bool = True  # honour HTTP(S)_PROXY / NO_PROXY


@dataclass(frozen=True)
class TokenInfo:
    """What a verified time-stamp token says: when the TSA signed, its serial, policy, the digest it
    covers and the nonce echoed."""

    gen_time: datetime
    serial: int
    policy: str
    digest: bytes
    nonce: int | None


def load_certificate(data: bytes) -> x509.Certificate:
    """PEM or DER."""
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def build_request(digest: bytes, nonce: int, policy: str | None = None) -> bytes:
    """DER TimeStampReq for a SHA-256 digest (certReq = true)."""
    if len(digest) != 32:
        raise ValueError("digest must be a 32-byte SHA-256")
    req: dict[str, Any] = {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": {"algorithm": "sha256"},
            "hashed_message": digest,
        },
        "nonce": nonce,
        "cert_req": True,
    }
    if policy is not None:
        req["req_policy"] = policy
    return bytes(tsp.TimeStampReq(req).dump())


def parse_response(
    body: bytes,
    digest: bytes,
    nonce: int,
    tsa_cert: x509.Certificate,
    *,
    max_clock_skew: timedelta | None = None,
) -> tuple[bytes, TokenInfo]:
    """Check a DER TimeStampResp; returns (token DER, parsed info)."""
    try:
        resp = _TimeStampResp.load(body)
        status = str(resp["status"]["status"].native)
        text = resp["status"]["status_string"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampError(_("not a TimeStampResp: {exc}").format(exc=exc)) from None
    if status not in {"granted", "granted_with_mods"}:
        detail = "; ".join(text) if isinstance(text, list) else ""
        raise TimestampError(f"TSA refused the request: {status} {detail}".strip())
    token = resp["time_stamp_token"]
    if isinstance(token, core.Void) or token.native is None:
        raise TimestampError(_("TSA granted but sent no token"))
    token_der = bytes(token.dump())
    info = verify_token(token_der, digest, tsa_cert, nonce=nonce)
    if max_clock_skew is not None:
        skew = abs(datetime.now(UTC) - info.gen_time)
        if skew > max_clock_skew:
            raise TimestampError(
                _("TSA genTime {gen_time} is {skew} away from local clock").format(
                    gen_time=info.gen_time, skew=skew
                )
            )
    return token_der, info


def _eku_ok(cert: x509.Certificate) -> bool:
    try:
        ext = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return False
    return ext.critical and ExtendedKeyUsageOID.TIME_STAMPING in ext.value


def verify_token(
    token_der: bytes, digest: bytes, tsa_cert: x509.Certificate, *, nonce: int | None = None
) -> TokenInfo:
    """Verify a stored TimeStampToken (CMS ContentInfo) against digest + pinned cert."""
    try:
        ci = cms.ContentInfo.load(token_der)
        if ci["content_type"].native != "signed_data":
            raise TimestampError(_("token is not CMS SignedData"))
        sd = ci["content"]
        encap = sd["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise TimestampError(_("token does not contain a TSTInfo"))
        tst_der = bytes(encap["content"].contents)
        tst = tsp.TSTInfo.load(tst_der)
        imprint = tst["message_imprint"]
        algo = str(imprint["hash_algorithm"]["algorithm"].native)
        hashed = bytes(imprint["hashed_message"].native)
        gen_time_raw = tst["gen_time"].native
        serial = int(tst["serial_number"].native)
        policy = str(tst["policy"].native)
        tok_nonce_raw = tst["nonce"].native
        signer_infos = sd["signer_infos"]
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampError(_("malformed timestamp token: {exc}").format(exc=exc)) from None
    if algo != "sha256" or hashed != digest:
        raise TimestampError(_("message imprint in the token does not equal our hash"))
    tok_nonce = None if tok_nonce_raw is None else int(tok_nonce_raw)
    if nonce is not None and tok_nonce != nonce:
        raise TimestampError(_("nonce in the token does not match the request"))
    if not isinstance(gen_time_raw, datetime):
        raise TimestampError(_("token has no genTime"))
    gen_time = gen_time_raw.astimezone(UTC)
    if len(signer_infos) != 1:
        raise TimestampError(_("token must have exactly one signer"))
    _verify_signer(signer_infos[0], tst_der, tsa_cert, gen_time)
    return TokenInfo(gen_time, serial, policy, hashed, tok_nonce)


def _verify_signer(si: Any, tst_der: bytes, cert: x509.Certificate, gen_time: datetime) -> None:
    cert_der = cert.public_bytes(Encoding.DER)
    a_cert = asn1_x509.Certificate.load(cert_der)
    digest_name = str(si["digest_algorithm"]["algorithm"].native)
    if digest_name not in _HASHES:
        raise TimestampError(
            _("unsupported digest algorithm {digest_name}").format(digest_name=digest_name)
        )
    attrs = si["signed_attrs"]
    if not attrs.native:
        raise TimestampError(_("token has no signed attributes"))
    by_type: dict[str, Any] = {str(a["type"].native): a["values"] for a in attrs}
    if "content_type" not in by_type or by_type["content_type"][0].native != "tst_info":
        raise TimestampError(_("content-type attribute missing or not TSTInfo"))
    md = by_type.get("message_digest")
    h = hashlib.new(digest_name, tst_der).digest()
    if md is None or bytes(md[0].native) != h:
        raise TimestampError(_("message-digest attribute does not match the TSTInfo"))
    # which certificate signed? ESS signing-certificate(-v2) if present, else sid
    sc = by_type.get("signing_certificate_v2")
    if sc is not None:
        ess = sc[0]["certs"][0]
        alg = str(ess["hash_algorithm"]["algorithm"].native) if ess["hash_algorithm"] else "sha256"
        if bytes(ess["cert_hash"].native) != hashlib.new(alg, cert_der).digest():
            raise TimestampError(_("token was not signed by the configured TSA certificate"))
    sid = si["sid"]
    if sid.name == "issuer_and_serial_number":
        ias = sid.chosen
        if (
            ias["serial_number"].native != a_cert.serial_number
            or ias["issuer"].dump() != a_cert.issuer.dump()
        ):
            raise TimestampError(_("token was not signed by the configured TSA certificate"))
    elif bytes(sid.chosen.native) != a_cert.key_identifier:
        raise TimestampError(_("token was not signed by the configured TSA certificate"))
    if not _eku_ok(cert):
        raise TimestampError(
            _("TSA certificate lacks the critical timeStamping extended key usage")
        )
    if not cert.not_valid_before_utc <= gen_time <= cert.not_valid_after_utc:
        raise TimestampError(_("TSA certificate was not valid at genTime"))
    signed_bytes = b"\x31" + bytes(attrs.dump())[1:]  # [0] IMPLICIT -> SET OF for signing
    signature = bytes(si["signature"].native)
    hash_alg = _HASHES[digest_name]()
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed_bytes, padding.PKCS1v15(), hash_alg)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed_bytes, ec.ECDSA(hash_alg))
        else:
            raise TimestampError(
                _("unsupported TSA key type {key_type}").format(key_type=type(key).__name__)
            )
    except InvalidSignature:
        raise TimestampError(_("timestamp token signature is invalid")) from None


def request_timestamp(
    digest: bytes, config: TSAConfig, *, client: httpx.Client | None = None
) -> tuple[bytes, TokenInfo]:
    """POST a TimeStampReq to the TSA and check the answer."""
    nonce = secrets.randbits(63)
    body = build_request(digest, nonce, config.policy)
    headers = {
        "Content-Type": "application/timestamp-query",
        "Accept": "application/timestamp-reply",
    }
    own = client is None
    http = client or httpx.Client(timeout=config.timeout, trust_env=config.trust_env)
    try:
        resp = http.post(config.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise TimestampError(
            _("could not reach the TSA at {url}: {exc}").format(url=config.url, exc=exc)
        ) from None
    finally:
        if own:
            http.close()
    if resp.status_code != 200:
        raise TimestampError(
            _("TSA answered HTTP {status_code}").format(status_code=resp.status_code)
        )
    return parse_response(
        resp.content, digest, nonce, config.cert, max_clock_skew=config.max_clock_skew
    )


def timestamp_head(session: Session, config: TSAConfig) -> CustodyTimestamp:
    """Timestamp the current custody head and store the token (flush, no commit)."""
    head = session.get(CustodyHead, HEAD_ROW_ID)
    seq, head_hash = (head.last_seq, head.head_hash) if head else (0, GENESIS_HASH)
    token, info = request_timestamp(bytes.fromhex(head_hash), config)
    row = CustodyTimestamp(
        seq=seq,
        head_hash=head_hash,
        tsa_url=config.url,
        gen_time=info.gen_time,
        serial=str(info.serial),
        policy=info.policy,
        token=token,
        stored_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return row


def anchors_from_timestamps(session: Session, tsa_cert: x509.Certificate) -> list[HeadAnchor]:
    """Re-verify every stored token and turn it into an anchor for ``custody.verify``.

    A token that no longer verifies raises ``TimestampError``.
    """
    out: list[HeadAnchor] = []
    for row in session.scalars(select(CustodyTimestamp).order_by(CustodyTimestamp.id)):
        info = verify_token(row.token, bytes.fromhex(row.head_hash), tsa_cert)
        out.append(
            HeadAnchor(
                row.seq,
                row.head_hash,
                f"RFC 3161 token #{row.serial} ({info.gen_time:%Y-%m-%d %H:%M:%S}Z)",
            )
        )
    return out
