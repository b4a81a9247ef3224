"""Tests for the encrypted evidence vault."""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import stat
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from haechi.store import custody
from haechi.store.vault import (
    BlobIntegrityError,
    BlobNotFoundError,
    InsecureKeyFileError,
    KeyFile,
    Passphrase,
    Vault,
    VaultKeyError,
)
from haechi.store.vault_format import HEADER_SIZE, NONCE_SIZE, TAG_SIZE

FAST_SCRYPT = {"scrypt_n": 1 << 12, "scrypt_r": 8, "scrypt_p": 1}


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def test_round_trip_small_and_edge_sizes(vault: Vault) -> None:
    cs = vault.chunk_size
    for data in [
        b"",
        b"x",
        secrets.token_bytes(cs - 1),
        secrets.token_bytes(cs),
        secrets.token_bytes(cs + 1),
        secrets.token_bytes(3 * cs),
    ]:
        info = vault.put_bytes(data)
        assert info.sha256 == hashlib.sha256(data).hexdigest()
        assert info.size == len(data)
        assert vault.read_bytes(info.sha256) == data
        assert vault.verify_blob(info.sha256) == []


def test_round_trip_20mb_streamed(tmp_path: Path, data_dir: Path, key_file: Path) -> None:
    v = Vault.init(data_dir / "vault", KeyFile(key_file))  # default 1 MiB chunks
    src = tmp_path / "video.mp4"
    block = secrets.token_bytes(1 << 20)
    with src.open("wb") as fh:
        for i in range(20):
            fh.write(hashlib.sha256(bytes([i])).digest() + block[32:])  # every MiB distinct
        fh.write(b"tail-not-chunk-aligned")
    info = v.put_file(src)
    assert info.size == src.stat().st_size
    assert info.sha256 == _file_sha256(src)

    out = tmp_path / "restored.mp4"
    with v.open_blob(info.sha256) as reader, out.open("wb") as fh:
        biggest = 0
        for chunk in reader:
            biggest = max(biggest, len(chunk))
            fh.write(chunk)
        assert reader.verified
    assert biggest <= v.chunk_size  # streamed, never the whole file at once
    assert _file_sha256(out) == info.sha256
    with src.open("rb") as a, out.open("rb") as b:  # bit-exact
        while True:
            x, y = a.read(1 << 20), b.read(1 << 20)
            assert x == y
            if not x:
                break
    # file-like use
    with v.open_blob(info.sha256) as reader, (tmp_path / "copy").open("wb") as fh:
        shutil.copyfileobj(reader, fh)
    assert _file_sha256(tmp_path / "copy") == info.sha256


def test_dedupe(vault: Vault, tmp_path: Path) -> None:
    data = secrets.token_bytes(200_000)
    a = vault.put_bytes(data)
    b = vault.put_bytes(data)
    src = tmp_path / "same.bin"
    src.write_bytes(data)
    c = vault.put_file(src)
    assert a == b == c
    assert list(vault.iter_blobs()) == [a.sha256]
    assert len([p for p in vault.root.rglob("*") if p.is_file()]) == 2  # blob + vault.json
    path = vault.path_for(a.sha256)
    assert path == vault.root / a.sha256[:2] / a.sha256[2:4] / f"{a.sha256}.enc"


def test_key_file_created_0600_and_reopen(vault: Vault, key_file: Path) -> None:
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    info = vault.put_bytes(b"evidence")
    again = Vault.open(vault.root, KeyFile(key_file))
    assert again.read_bytes(info.sha256) == b"evidence"


def test_wrong_key_file_is_a_clear_error(vault: Vault, tmp_path: Path) -> None:
    vault.put_bytes(b"evidence")
    other = tmp_path / "other.key"
    Vault.init(tmp_path / "other-vault", KeyFile(other))
    with pytest.raises(VaultKeyError, match="the vault key does not match this vault"):
        Vault.open(vault.root, KeyFile(other))


def test_wrong_passphrase_is_a_clear_error(tmp_path: Path) -> None:
    v = Vault.init(tmp_path / "v", Passphrase("correct horse 해치"), **FAST_SCRYPT)
    info = v.put_bytes(b"evidence")
    with pytest.raises(VaultKeyError, match="the vault key does not match this vault"):
        Vault.open(tmp_path / "v", Passphrase("wrong horse 해치"))
    with pytest.raises(VaultKeyError, match="passphrase, not a key file"):
        Vault.open(tmp_path / "v", KeyFile(tmp_path / "nope.key"))
    # the same Hangul passphrase typed in decomposed form (macOS) still opens it
    nfd = unicodedata.normalize("NFD", "correct horse 해치")
    assert Vault.open(tmp_path / "v", Passphrase(nfd)).read_bytes(info.sha256) == b"evidence"


def test_key_check_tamper_is_key_error(vault: Vault, key_file: Path) -> None:
    meta = vault.root / "vault.json"
    text = meta.read_text()
    meta.write_text(text.replace('"vault_id": "', '"vault_id": "0'))
    with pytest.raises(VaultKeyError, match="does not match"):
        Vault.open(vault.root, KeyFile(key_file))


def test_key_file_0644_refused(vault: Vault, key_file: Path) -> None:
    key_file.chmod(0o644)
    with pytest.raises(InsecureKeyFileError, match=r"group/others \(mode 0644\).*chmod 600"):
        Vault.open(vault.root, KeyFile(key_file))
    key_file.chmod(0o600)
    Vault.open(vault.root, KeyFile(key_file))


def test_missing_blob(vault: Vault) -> None:
    sha = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(BlobNotFoundError):
        vault.read_bytes(sha)
    [p] = vault.verify_blob(sha)
    assert p.kind == "missing"
    with pytest.raises(ValueError, match="SHA-256"):
        vault.read_bytes("../../etc/passwd")


def test_no_temp_file_left_on_failure(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_a: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        vault.put_bytes(secrets.token_bytes(100_000))
    monkeypatch.undo()
    assert [p for p in vault.root.rglob("*") if p.is_file()] == [vault.root / "vault.json"]


def _windows(data: bytes, n: int = 32) -> set[bytes]:
    return {data[i : i + n] for i in range(len(data) - n + 1)}


@pytest.mark.sqlite_only
def test_no_plaintext_on_disk(vault: Vault, data_dir: Path, tmp_path: Path, engine: Engine) -> None:
    plain = b"HAECHI-PLAINTEXT-MARKER:" + secrets.token_bytes(300_000)
    src = tmp_path / "outside" / "capture.bin"  # the user's own copy, outside the data dir
    src.parent.mkdir()
    src.write_bytes(plain)
    info = vault.put_file(src)
    vault.put_bytes(plain[1000:150_000])
    with Session(engine) as s:
        custody.append(
            s,
            custody.CustodyEvent(
                "tester", custody.CustodyAction.CAPTURED, f"item:{info.sha256}", {"size": info.size}
            ),
        )
        s.commit()
    assert vault.read_bytes(info.sha256) == plain
    windows = _windows(plain)
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert "haechi.db" in names
    assert "haechi.db-wal" in names  # WAL mode: the log is checked too
    assert any(p.suffix == ".enc" for p in files)
    for p in files:
        blob = p.read_bytes()
        for i in range(len(blob) - 31):
            assert blob[i : i + 32] not in windows, f"plaintext found in {p} at offset {i}"


# --------------------------------------------------------------------------- tampering
def _multi_chunk_blob(vault: Vault, n_chunks: int = 4) -> str:
    return vault.put_bytes(secrets.token_bytes(vault.chunk_size * n_chunks - 100)).sha256


def test_flip_one_byte_detected(vault: Vault) -> None:
    sha = _multi_chunk_blob(vault)
    path = vault.path_for(sha)
    raw = bytearray(path.read_bytes())
    raw[HEADER_SIZE + NONCE_SIZE + vault.chunk_size + TAG_SIZE + 500] ^= 0x01  # chunk 1
    path.write_bytes(bytes(raw))
    [p] = vault.verify_blob(sha)
    assert p.kind == "altered"
    assert "chunk 1 failed authentication" in str(p)
    with pytest.raises(BlobIntegrityError, match="chunk 1"):
        vault.read_bytes(sha)


def test_flip_header_byte_detected(vault: Vault) -> None:
    sha = _multi_chunk_blob(vault)
    path = vault.path_for(sha)
    raw = bytearray(path.read_bytes())
    raw[10] ^= 0x80  # inside the plaintext size field
    path.write_bytes(bytes(raw))
    [p] = vault.verify_blob(sha)
    assert p.kind in {"altered", "truncated"}
    with pytest.raises(BlobIntegrityError):
        vault.read_bytes(sha)


def test_truncation_detected(vault: Vault) -> None:
    sha = _multi_chunk_blob(vault)
    path = vault.path_for(sha)
    size = path.stat().st_size
    for cut in [size - 1, size // 2, HEADER_SIZE + NONCE_SIZE + vault.chunk_size + TAG_SIZE, 20]:
        raw = path.read_bytes()
        path.write_bytes(raw[:cut])
        [p] = vault.verify_blob(sha)
        assert p.kind == "truncated", p
        assert "truncated" in str(p)
        with pytest.raises(BlobIntegrityError):
            vault.read_bytes(sha)
        path.write_bytes(raw)
        assert vault.verify_blob(sha) == []


def test_appended_bytes_detected(vault: Vault) -> None:
    sha = _multi_chunk_blob(vault)
    with vault.path_for(sha).open("ab") as fh:
        fh.write(b"\0" * 28)
    [p] = vault.verify_blob(sha)
    assert p.kind == "altered" and "extra bytes" in str(p)


def test_reordered_chunks_detected(vault: Vault) -> None:
    data = secrets.token_bytes(vault.chunk_size * 3)
    sha = vault.put_bytes(data).sha256
    path = vault.path_for(sha)
    raw = path.read_bytes()
    rec = NONCE_SIZE + vault.chunk_size + TAG_SIZE
    c0 = raw[HEADER_SIZE : HEADER_SIZE + rec]
    c1 = raw[HEADER_SIZE + rec : HEADER_SIZE + 2 * rec]
    path.write_bytes(raw[:HEADER_SIZE] + c1 + c0 + raw[HEADER_SIZE + 2 * rec :])
    [p] = vault.verify_blob(sha)
    assert p.kind == "altered"


def test_swapped_blobs_detected(vault: Vault) -> None:
    a = vault.put_bytes(b"first piece of evidence" * 100).sha256
    b = vault.put_bytes(b"second piece of evidence" * 100).sha256
    pa, pb = vault.path_for(a), vault.path_for(b)
    ra, rb = pa.read_bytes(), pb.read_bytes()
    pa.write_bytes(rb)
    pb.write_bytes(ra)
    [p] = vault.verify_blob(a)
    assert p.kind == "swapped" and b in str(p)
    [q] = vault.verify_blob(b)
    assert q.kind == "swapped" and a in str(q)
    with pytest.raises(BlobIntegrityError, match="swapped"):
        vault.read_bytes(a)


def test_swapped_blob_with_header_rewritten_detected(vault: Vault) -> None:
    a = vault.put_bytes(b"first piece of evidence" * 100).sha256
    b = vault.put_bytes(b"second piece of evidence" * 100).sha256
    rb = bytearray(vault.path_for(b).read_bytes())
    rb[HEADER_SIZE - 32 : HEADER_SIZE] = bytes.fromhex(a)  # forge the blob id
    vault.path_for(a).write_bytes(bytes(rb))
    [p] = vault.verify_blob(a)
    assert p.kind == "altered"


def test_delete(vault: Vault) -> None:
    sha = vault.put_bytes(b"to be forgotten").sha256
    assert vault.delete(sha)
    assert not vault.has(sha)
    assert not vault.delete(sha)
