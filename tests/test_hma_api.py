"""The HMA-compatible API answers in HMA 2.0's shapes (lookup per bank with bank_content_id and
the distance as a string, raw_lookup, compare, index status, curation), adds provenance tags,
honours negative banks, and takes feedback: a rejected match stops matching."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from conftest import jpeg_bytes, noise_image, write_video
from fastapi import FastAPI
from fastapi.testclient import TestClient

from haechi.config import Settings
from haechi.share.hma_api import build_router
from haechi.store.db import Database

H1 = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
H1_NEAR = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b2d"  # 4 bits away
FAR = "0" * 64
# A different picture that happens to sit 25 bits from H1: within 31, a false positive.
H1_FP = f"{int(H1, 16) ^ ((1 << 25) - 1):064x}"


@pytest.fixture
def client(settings: Settings, db: Database) -> TestClient:
    app = FastAPI()
    app.include_router(build_router(settings))
    return TestClient(app)


def test_curation_and_lookup_in_hma_shapes(client: TestClient) -> None:
    assert client.get("/status").text == "I-AM-ALIVE"
    r = client.post("/c/banks", json={"name": "SEEN_BEFORE", "enabled_ratio": 1.0})
    assert r.status_code == 201 and r.json()["name"] == "SEEN_BEFORE"
    assert r.json()["matching_enabled_ratio"] == 1.0
    assert client.post("/c/banks", json={"name": "bad name"}).status_code == 400
    added = client.post("/c/bank/SEEN_BEFORE/signal", json={"pdq": H1, "tags": ["ncii"]}).json()
    assert set(added) == {"id", "signals"} and isinstance(added["id"], int)

    hit = client.get("/m/lookup", params={"signal": H1_NEAR, "signal_type": "pdq"}).json()
    assert hit == {
        "SEEN_BEFORE": [{"bank_content_id": added["id"], "distance": "4", "tags": ["ncii"]}]
    }
    assert client.get("/m/lookup", params={"signal": FAR, "signal_type": "pdq"}).json() == {}
    only = {"signal": H1, "signal_type": "pdq", "banks": "OTHER"}
    assert client.get("/m/lookup", params=only).json() == {}
    raw = client.get(
        "/m/raw_lookup", params={"signal": H1, "signal_type": "pdq", "include_distance": "true"}
    ).json()
    assert raw == {"matches": [{"bank_content_id": added["id"], "distance": "0"}]}
    assert client.get("/m/raw_lookup", params={"signal": H1, "signal_type": "pdq"}).json() == {
        "matches": [added["id"]]
    }
    assert client.post("/m/compare", json={"pdq": [H1, H1_NEAR]}).json() == {
        "pdq": [True, {"distance": 4}]
    }
    status = client.get("/m/index/status").json()
    assert status["pdq"]["present"] is True and status["pdq"]["size"] == 1
    assert isinstance(status["pdq"]["built_to"], int)

    # A bank switched off (or rolled out to 0) stops matching; raw lookup still sees it.
    assert client.put("/c/bank/SEEN_BEFORE", json={"enabled_ratio": 0.0}).status_code == 200
    assert client.get("/m/lookup", params={"signal": H1, "signal_type": "pdq"}).json() == {}
    assert client.get("/m/raw_lookup", params={"signal": H1, "signal_type": "pdq"}).json() == {
        "matches": [added["id"]]
    }
    client.put("/c/bank/SEEN_BEFORE", json={"enabled_ratio": 1.0})

    content = client.get(f"/c/bank/SEEN_BEFORE/content/{added['id']}").json()
    assert content["signals"] == {"pdq": H1} and content["disable_until_ts"] == 1
    assert content["provenance"]["tags"] == ["ncii"] and content["provenance"]["source"] == "api"
    off = client.put(f"/c/bank/SEEN_BEFORE/content/{added['id']}", json={"disable_until_ts": 0})
    assert off.json()["disable_until_ts"] == 0
    assert client.get("/m/lookup", params={"signal": H1, "signal_type": "pdq"}).json() == {}
    assert [b["name"] for b in client.get("/c/banks").json()] == ["SEEN_BEFORE"]
    assert client.get("/c/bank/NOPE").status_code == 404


def test_media_is_hashed_in_memory_never_fetched(client: TestClient, settings: Settings) -> None:
    photo = jpeg_bytes(noise_image(5))
    hashed = client.post("/h/hash", files={"photo": ("p.jpg", io.BytesIO(photo), "image/jpeg")})
    assert set(hashed.json()) == {"pdq"} and len(hashed.json()["pdq"]) == 64
    refused = client.get("/m/lookup", params={"url": "https://example.org/x.jpg"})
    assert refused.status_code == 400 and "never fetches" in refused.json()["detail"]

    client.post("/c/banks", json={"name": "UPLOADS"})
    meta = json.dumps({"content_uri": "case-7/photo-1", "json": {"tags": ["kr"]}})
    made = client.post(
        "/c/bank/UPLOADS/content",
        files={"photo": ("p.jpg", io.BytesIO(photo), "image/jpeg")},
        data={"metadata": meta},
    ).json()
    assert made["signals"] == hashed.json()
    looked = client.post(
        "/m/lookup", files={"photo": ("again.jpg", io.BytesIO(photo), "image/jpeg")}
    ).json()
    assert looked["pdq"]["UPLOADS"][0]["bank_content_id"] == made["id"]
    assert looked["pdq"]["UPLOADS"][0]["tags"] == ["kr"]
    # Only hashes were kept: no file of the upload anywhere in the data directory.
    stored = [p for p in settings.home_dir.rglob("*") if p.is_file()]
    assert not any(p.read_bytes() == photo for p in stored)


def test_feedback_rejection_goes_to_a_negative_bank(client: TestClient) -> None:
    client.post("/c/banks", json={"name": "SEEN_BEFORE"})
    cid = client.post("/c/bank/SEEN_BEFORE/signal", json={"pdq": H1}).json()["id"]
    q = {"signal": H1_FP, "signal_type": "pdq"}
    assert client.get("/m/lookup", params=q).json()["SEEN_BEFORE"][0]["distance"] == "25"
    ok = client.post(
        "/m/feedback", json={"bank": "SEEN_BEFORE", "bank_content_id": cid, "verdict": "confirm"}
    )
    assert ok.status_code == 200
    rejected = client.post(
        "/m/feedback",
        json={
            "bank": "SEEN_BEFORE",
            "bank_content_id": cid,
            "verdict": "reject",
            "signal_type": "pdq",
            "signal": H1_FP,
        },
    ).json()
    assert rejected["negative_bank"] == "FALSE_POSITIVES"
    assert client.get("/m/lookup", params=q).json() == {}  # suppressed from now on
    fp = client.get("/c/bank/FALSE_POSITIVES").json()
    assert fp["negative"] is True and fp["contents"] == 1 and fp["thresholds"] == {"pdq": 8}
    # Copies of the banked picture still match: the negative bank holds only what is near
    # the rejected one (within its tighter threshold of 8).
    assert "SEEN_BEFORE" in client.get("/m/lookup", params={**q, "signal": H1_NEAR}).json()
    bad = client.post("/m/feedback", json={"bank": "SEEN_BEFORE", "bank_content_id": 999})
    assert bad.status_code == 400


def test_a_video_upload_is_looked_up_by_its_frames(client: TestClient, tmp_path: Path) -> None:
    folder = tmp_path
    write_video(folder / "long.mp4", 6)
    write_video(folder / "clip.mp4", 3)
    client.post("/c/banks", json={"name": "VIDEOS"})
    made = client.post(
        "/c/bank/VIDEOS/content",
        files={"video": ("long.mp4", (folder / "long.mp4").read_bytes(), "video/mp4")},
    ).json()
    assert set(made["signals"]) == {"vpdq", "video_md5"}
    found = client.post(
        "/m/lookup",
        files={"video": ("clip.mp4", (folder / "clip.mp4").read_bytes(), "video/mp4")},
    ).json()
    (hit,) = found["vpdq"]["VIDEOS"]
    assert hit["bank_content_id"] == made["id"]
    assert hit["query_match_percent"] == 100.0 and hit["compared_match_percent"] == 50.0
    assert found["video_md5"] == {}  # different bytes: MD5 does not survive a re-encode
