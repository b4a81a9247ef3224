"""The police report through the CLI: a case built from a scanned Telegram export in which one
account posts an enrolled person's photos and threatens to spread them, one sells them, one
forwards them to another room, and others are in those rooms. The report names each account's
offence with its article and the messages behind it, has a timeline, is Korean first and then
English, escapes hostile names, withholds a possible minor's item, writes a real PDF, and is in
the custody log (which still verifies)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pyrage
import pytest
from conftest import jpeg_bytes, noise_image, run
from conftest import testdata as _data
from pypdf import PdfReader

HOSTILE = "<script>alert(1)</script>\u202e제작자"


def _message(mid: int, who: str, name: str, text: str, minute: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": mid,
        "type": "message",
        "date": f"2024-08-01T12:{minute:02d}:00",
        "date_unixtime": str(1722513600 + minute * 60),
        "from": name,
        "from_id": who,
        "text": text,
        "text_entities": [{"type": "plain", "text": text}] if text else [],
        **extra,
    }


def write_export(root: Path) -> None:
    """Two rooms. 작업방: user101 posts photo a (#1), user102 quotes a price beside it (#2),
    user103 replies to it (#3), user101 threatens (#4) and posts photo b (#5). 유포방: user104
    forwards photo a (#1), user105 speaks (#2). Photos a and b show the enrolled person."""
    (root / "photos").mkdir(parents=True)
    shutil.copy(_data("faces", "img10.jpg"), root / "photos" / "a.jpg")
    shutil.copy(_data("faces", "img11.jpg"), root / "photos" / "b.jpg")
    pic = {"width": 320, "height": 240}
    work = [
        _message(1, "user101", HOSTILE, "신작", 0, photo="photos/a.jpg", **pic),
        _message(2, "user102", "판매상", "장당 3만원, 문상으로 받아요", 1),
        _message(3, "user103", "구경꾼", "잘 봤어요", 2, reply_to_message_id=1),
        _message(4, "user101", HOSTILE, "돈 안 보내면 이 사진 학교에 뿌린다", 3),
        _message(5, "user101", HOSTILE, "", 4, photo="photos/b.jpg", **pic),
    ]
    spread = [
        _message(
            1, "user104", "퍼나르기", "", 10, photo="photos/a.jpg", forwarded_from=HOSTILE, **pic
        ),
        _message(2, "user105", "조용한사람", "ㅋㅋ", 11),
    ]
    chats = [
        {"name": "작업방", "type": "private_supergroup", "id": 5001, "messages": work},
        {"name": "유포방", "type": "private_supergroup", "id": 5002, "messages": spread},
    ]
    doc = {"chats": {"list": chats}}
    (root / "result.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")


def _setup(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A home with the scan done and case 1 opened for p1; returns the two items by photo."""
    home = tmp_path / "h"
    run(home, "init")
    write_export(tmp_path / "export")
    run(home, "enrol", "--alias", "p1", "--consent", "yes", str(_data("faces", "img1.jpg")))
    scanned = run(home, "scan", str(tmp_path / "export"), "--json", "--no-progress").stdout
    shas = {Path(x["path"]).name: x["sha256"] for x in map(json.loads, scanned.splitlines())}
    case = json.loads(run(home, "case", "new", "--person", "p1", "--json").stdout)
    assert case == {"id": 1, "items": 2}
    return home, shas


def _offence(report: dict[str, Any], account: str, key: str) -> dict[str, Any]:
    (acc,) = [a for a in report["accounts"] if a["id"] == account]
    (line,) = [o for o in acc["offences"] if o["offence"] == key]
    assert isinstance(line, dict)
    return line


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow  # thirteen runs of the real CLI, about 20 s
def test_police_report_names_offences_articles_and_messages(tmp_path: Path) -> None:
    home, shas = _setup(tmp_path)
    a, b = shas["a.jpg"], shas["b.jpg"]
    queue = [json.loads(x) for x in run(home, "review", "--json").stdout.splitlines()]
    (minor,) = [q for q in queue if q["item_sha256"] == b]
    run(home, "review", "minor", str(minor["finding_id"]))

    investigator = pyrage.x25519.Identity.generate()
    out = tmp_path / "police"
    env = {"HAECHI_ACTOR": "counsellor-kim"}
    args = ("report", "police", "1", "--out", str(out), "-r", str(investigator.to_public()))
    report = json.loads(run(home, *args, "--json", env=env).stdout)

    # Each account's offence, its article, and the messages behind it.
    making = _offence(report, "user101", "making")
    assert "14-2(1)" in making["article"]["en"] and "제14조의2 제1항" in making["article"]["ko"]
    assert making["message_ids"] == [1, 5] and set(making["items"]) == {a, b}
    threats = _offence(report, "user101", "threats")
    assert "14-3" in threats["article"]["en"] and threats["message_ids"] == [4]
    assert "학교에 뿌린다" in threats["messages"][0]["text"]
    selling = _offence(report, "user102", "selling")
    assert "14-2(3)" in selling["article"]["en"] and 2 in selling["message_ids"]
    distributing = _offence(report, "user104", "distributing")
    assert "14-2(2)" in distributing["article"]["en"]
    assert [(m["room"], m["message_id"]) for m in distributing["messages"]] == [("5002", 1)]
    viewing = _offence(report, "user103", "possessing")
    assert "14-2(4)" in viewing["article"]["en"] and 3 in viewing["message_ids"]
    assert viewing["certainty"] == "observed"  # a reply to the post
    assert {x["id"] for x in report["accounts"]} == {f"user10{i}" for i in range(1, 6)}

    # The timeline: the case's events and the items' first and last sightings.
    timeline = [e["en"] for e in report["timeline"]]
    assert f"item {a[:12]} first seen (2 sighting(s))" in timeline
    assert f"item {a[:12]} last seen" in timeline
    assert timeline.index(f"item {a[:12]} first seen (2 sighting(s))") < min(
        i for i, t in enumerate(timeline) if t.startswith("case opened")
    )  # in time order: the sighting in 2024 before the case
    assert any(t.startswith("evidence package exported") for t in timeline)

    # The possible minor: listed as withheld; its media in no file of the package.
    assert report["withheld"] == [b]
    media = sorted(p.name for p in (out / "evidence" / "media").iterdir())
    assert len(media) == 1 and media[0].startswith(a)
    assert not any(b in p.name for p in out.rglob("*"))

    html = (out / "report.html").read_text("utf-8")
    ko, en = html.index("디지털 성범죄 사건 보고서"), html.index("Digital sex crime case report")
    assert html.index('id="part-ko"') < html.index('id="part-en"')
    assert ko < en and html.index("사건 경과") < html.index("Timeline")
    assert "제14조의2 제3항" in html and "art. 14-2(3)" in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\u202e" not in html and "\\u202e" in html  # the override shown, not obeyed
    assert "withheld (possible minor)" in html and "제외됨 (미성년자 가능성)" in html
    assert "이 증거가 입증하지 않는 것" in html and "What the evidence does not establish" in html
    assert "not configured" in html  # no TSA here, and the report says so

    assert (out / "report.pdf").read_bytes().startswith(b"%PDF-")
    pages = [pg.extract_text() for pg in PdfReader(out / "report.pdf").pages]
    assert (
        len(pages) >= 2 and "디지털 성범죄 사건 보고서" in pages[0]
    )  # the Korean font is embedded
    english = next(i for i, t in enumerate(pages) if "Digital sex crime case report" in t)
    assert english > 0 and "제14조의2 제4항" in "".join(pages[:english])
    assert "art. 14-3(1)" in "".join(pages[english:])

    for folder in (out, out / "evidence"):
        check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True)
        assert check.returncode == 0, check.stdout

    log = [json.loads(x) for x in run(home, "evidence", "log", "--json").stdout.splitlines()]
    (entry,) = [e for e in log if e["action"] == "reported"]
    assert entry["object"] == "case:1" and entry["actor"] == "counsellor-kim"
    assert entry["details"]["sha256sums"] == report["sha256sums"]
    assert entry["details"]["withheld"] == [b] and "minor_authorised" not in entry["details"]
    assert "INTACT" in run(home, "evidence", "verify").stdout

    # With the authorisation the item is listed like the others, and the log says so.
    out2 = tmp_path / "police-authorised"
    args2 = ("report", "police", "1", "--out", str(out2), "-r", str(investigator.to_public()))
    again = json.loads(run(home, *args2, "--authorise-minor", "--json", env=env).stdout)
    assert again["withheld"] == [] and again["minor_authorised"]
    assert len(list((out2 / "evidence" / "media").iterdir())) == 2
    log = [json.loads(x) for x in run(home, "evidence", "log", "--json").stdout.splitlines()]
    last = [e for e in log if e["action"] == "reported"][-1]
    assert last["details"]["minor_authorised"] == [b]
    timeline = json.loads(run(home, "case", "show", "1", "--json").stdout)["timeline"]
    assert [e["kind"] for e in timeline].count("reported") == 2
    assert "INTACT" in run(home, "evidence", "verify").stdout


def test_report_refuses_an_existing_folder_and_an_empty_case(tmp_path: Path) -> None:
    home, corpus = tmp_path / "h", tmp_path / "c"
    corpus.mkdir()
    (corpus / "x.jpg").write_bytes(jpeg_bytes(noise_image(5)))
    run(home, "scan", str(corpus), "--no-progress")
    case = json.loads(run(home, "case", "new", "--json").stdout)["id"]
    none = run(home, "report", "police", str(case), "--out", str(tmp_path / "r"), check=False)
    assert none.returncode != 0 and "has no items yet" in none.stderr
    run(home, "case", "add", str(case), _sha256(corpus / "x.jpg"))
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("hers")
    busy = run(home, "report", "police", str(case), "--out", str(taken), check=False)
    assert busy.returncode != 0 and "already exists" in busy.stderr
    assert [p.name for p in taken.iterdir()] == ["keep.txt"]
    assert not (tmp_path / "r").exists() and not list(tmp_path.glob(".*partial"))
