"""A public channel's web preview (t.me/s/NAME) kept in a WARC is read as that channel's
messages: its posts become a room's messages, the photos its posts show are sighted in those
posts (room, message, poster), so a face found there reaches findings, rooms, the network,
evidence and leads as an export's would. The markup follows what t.me/s serves."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from conftest import haechi, testdata
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from haechi.capture.links import media_links
from haechi.sources.tme_preview import MAX_POSTS, preview_channel, read_preview

PHOTO_URL = "https://cdn4.cdn-telegram.org/file/p11.jpg"

PREVIEW = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>지인 거래</title></head>
<body><div class="tgme_channel_info">
 <div class="tgme_channel_info_header"><div class="tgme_channel_info_header_title">
  <span dir="auto">지인 거래 &amp; 교환</span></div>
 <div class="tgme_channel_info_header_username"><a href="https://t.me/jiin_trade">@jiin_trade</a>
 </div></div></div>
<section class="tgme_channel_history js-message_history">
<div class="tgme_widget_message_wrap js-widget_message_wrap">
 <div class="tgme_widget_message js-widget_message" data-post="jiin_trade/10">
  <div class="tgme_widget_message_bubble">
   <div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name"
    href="https://t.me/jiin_trade"><span dir="auto">지인 거래</span></a></div>
   <div class="tgme_widget_message_text js-message_text" dir="auto">
    신작 딥페 풀버전 3만원 문상 DM<br/>
    백업방 <a href="https://t.me/+NextRoomInv1te" target="_blank">t.me/+NextRoomInv1te</a></div>
   <div class="tgme_widget_message_footer compact js-message_footer">
    <div class="tgme_widget_message_info">
    <span class="tgme_widget_message_views">1.2K</span><span class="tgme_widget_message_meta">
    <a class="tgme_widget_message_date" href="https://t.me/jiin_trade/10">
    <time datetime="2024-08-30T10:00:00+00:00" class="time">10:00</time></a></span></div></div>
  </div></div></div>
<div class="tgme_widget_message_wrap js-widget_message_wrap">
 <div class="tgme_widget_message js-widget_message" data-post="jiin_trade/11">
  <div class="tgme_widget_message_bubble">
   <div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name"
    href="https://t.me/jiin_trade"><span dir="auto">지인 거래</span></a></div>
   <div class="tgme_widget_message_forwarded_from accent_color">Forwarded from
    <a class="tgme_widget_message_forwarded_from_name" href="https://t.me/maker_ch/3">
    <span dir="auto">Maker</span></a></div>
   <a class="tgme_widget_message_reply" href="https://t.me/jiin_trade/10">
    <div class="tgme_widget_message_text js-message_text">quoted, not this post's text</div></a>
   <a class="tgme_widget_message_photo_wrap blured 5823" href="https://t.me/jiin_trade/11"
    style="width:320px;background-image:url('{photo}')"><div class="tgme_widget_message_photo"
    style="padding-top:75%"></div></a>
   <div class="tgme_widget_message_text js-message_text" dir="auto">샘플</div>
   <div class="tgme_widget_message_footer"><a class="tgme_widget_message_date"
    href="https://t.me/jiin_trade/11"><time datetime="2024-08-30T10:05:00+00:00">10:05</time></a>
   </div></div></div></div>
</section></body></html>""".replace("{photo}", PHOTO_URL)


def test_the_preview_reads_as_posts() -> None:
    preview = read_preview(PREVIEW, "https://t.me/s/jiin_trade")
    assert preview is not None and preview.title == "지인 거래 & 교환"
    first, second = preview.posts
    assert (first.id, first.author, first.author_name) == (10, "지인 거래", "jiin_trade")
    assert first.text == "신작 딥페 풀버전 3만원 문상 DM\n백업방 t.me/+NextRoomInv1te"
    assert first.links == ["https://t.me/+NextRoomInv1te"] and first.photos == []
    assert first.date is not None and first.date.isoformat() == "2024-08-30T10:00:00+00:00"
    assert second.text == "샘플" and second.forwarded_from == "Maker" and second.reply_to == 10
    assert second.photos == [PHOTO_URL]
    assert preview_channel("https://t.me/s/jiin_trade?before=12") == "jiin_trade"
    for other in ("https://t.me/jiin_trade", "https://evil.example/s/jiin_trade", "t.me/s/x"):
        assert preview_channel(other) is None and read_preview(PREVIEW, other) is None


def test_hostile_markup_stays_bounded() -> None:
    """Unclosed elements, a post inside a post, thousands of posts: no error, bounded output."""
    post = (
        '<div class="tgme_widget_message" data-post="x_chan/{i}">'
        '<div class="tgme_widget_message_text">t{i}'
    )
    html = "".join(post.format(i=i) for i in range(MAX_POSTS * 3))
    preview = read_preview(html, "https://t.me/s/x_chan")
    assert preview is not None and len(preview.posts) <= MAX_POSTS
    odd = '<div data-post="x_chan/nan"></div><div data-post="/5"><time datetime="bad">'
    assert read_preview(odd, "https://t.me/s/x_chan") is not None


def test_capture_fetches_photos_shown_as_background_images() -> None:
    assert PHOTO_URL in media_links(PREVIEW, "https://t.me/s/jiin_trade", 50)


def _warc(path: Path, photo: bytes) -> None:
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, ctype, body in (
            ("https://t.me/s/jiin_trade", "text/html; charset=utf-8", PREVIEW.encode()),
            (PHOTO_URL, "image/jpeg", photo),
        ):
            headers = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            record = writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=headers
            )
            writer.write_record(record)


@pytest.mark.slow  # the real CLI, several commands
def test_a_face_in_a_captured_preview_reaches_rooms_network_evidence_and_leads(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    warc = tmp_path / "preview.warc.gz"
    _warc(warc, testdata("faces", "img11.jpg").read_bytes())  # person_01
    consent = ["--consent", "yes", "--consent-by", "person_01", "--scope", "match faces"]
    haechi(home, "enrol", "--alias", "p1", *consent, str(testdata("faces", "img1.jpg")))
    haechi(home, "scan", str(warc), "--no-progress")

    rooms = [json.loads(x) for x in haechi(home, "rooms", "--json").stdout.splitlines()]
    (room,) = [r for r in rooms if r["id"] == "@jiin_trade"]
    assert room["name"] == "지인 거래 & 교환" and room["messages"] == 2 and room["media"] == 1

    found = [json.loads(x) for x in haechi(home, "findings", "--json").stdout.splitlines()]
    (face,) = [f for f in found if f["kind"] == "face_match"]
    text = haechi(home, "findings").stdout
    assert "#11" in text and "jiin_trade" in text  # seen in the room's post 11, by its poster

    net = haechi(home, "network", "--json").stdout
    assert "@jiin_trade" in net and "Maker" in net
    # The forward names its first author: the creator candidate; the channel sold it.
    roles = haechi(home, "findings").stdout
    assert "creator candidate: Maker" in " ".join(roles.split())

    captured = haechi(home, "evidence", "capture", face["item_sha256"])
    assert "preserved" in captured.stdout or "already" in captured.stdout
    assert "INTACT" in haechi(home, "evidence", "verify").stdout

    leads = [json.loads(x) for x in haechi(home, "discover", "leads", "--json").stdout.splitlines()]
    (nxt,) = [x for x in leads if x["lead"] == "+NextRoomInv1te"]
    assert nxt["times"] == 1  # from the stored post only: the page is not read a second time
    assert nxt["seen"][0]["kind"] == "message"
    assert nxt["seen"][0]["url"] == "https://t.me/jiin_trade/10"
