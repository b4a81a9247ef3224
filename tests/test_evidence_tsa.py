"""RFC 3161 client tests against a throw-away TSA on 127.0.0.1 (own key and certificate), built
in tests/fake_tsa.py."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import tsp
from fake_tsa import FakeTSA, make_tsa_identity
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
