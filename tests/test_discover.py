"""Discovery (issue 20): variants that fold back through the lexicon, leads from scanned exports
(JSON and HTML), live messages and captured pages, ranked by the rooms that named them; the
public Telegram search tested against a stand-in built from Telethon's own types (Telegram's
servers are out of reach here); a lead's public preview captured through `capture`."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import jpeg_bytes, noise_image, run
from fake_telegram import FakeTelegram, text_message, watch
from rooms_dataset import reported_rooms
from tdesktop_html import write_html_chat
from telethon.errors import FloodWaitError
from telethon.tl import types
from telethon.tl.functions.channels import GetFullChannelRequest
from telethon.tl.functions.contacts import SearchRequest
from telethon.tl.types import contacts, messages
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from haechi.analyzers.chat_text import ChatTextAnalyzer
from haechi.analyzers.hangul import compact
from haechi.config import Settings, load_settings
from haechi.discover.links import parse_lead, refs_in_text
from haechi.discover.variants import STRUCTURAL, VariantMaker, lexicon_terms
from haechi.errors import InputError
from haechi.services.discover import capture_lead, search_queries, search_telegram
from haechi.services.leads import harvest_leads, rank_leads
from haechi.store.db import Database

WHEN = datetime(2024, 8, 30, 12, 0, tzinfo=UTC)


# ------------------------------------------------------------------ variants
def test_every_variant_of_every_lexicon_term_folds_back_and_the_lexicon_forms_are_all_made(
    settings: Settings,
) -> None:
    maker = VariantMaker.from_settings(settings)
    analyzer = ChatTextAnalyzer(settings)
    made: dict[str, set[str]] = {}
    terms = lexicon_terms(maker.docs)
    assert len(terms) > 400
    for entry_id, term in terms:
        (tv,) = maker.variants([term])
        assert tv.entry is not None
        assert tv.variants, term
        for v in tv.variants:
            risk = analyzer.analyze(v.text)
            named = {h.term_id for h in (*risk.hits, *risk.context)}
            assert entry_id in named, (term, v)
            if v.rule in STRUCTURAL:
                assert compact(v.text) == compact(term), (term, v)
        rules = {v.rule for v in tv.variants}
        if compact(term) == term and all("가" <= c <= "힣" for c in term):
            assert {"spacing", "dots", "zero_width", "filler", "jamo"} <= rules, term
        made.setdefault(entry_id, set()).update(compact(v.text) for v in tv.variants)
    # the other way: every spelling the lexicon itself generates or lists for an entry, and its
    # initial-consonant forms, are among the variants made for that entry's terms
    lex = maker.lexicon
    for entry in lex.entries:
        assert set(lex.generated.get(entry.id, ())) <= made.get(entry.id, set()), entry.id
    for bucket in lex.initials.values():
        for needle in bucket:
            assert needle.text in made[lex.entries[needle.entry].id]
    for bucket in lex.literal.values():
        for needle in bucket:
            if needle.form == "variant":
                assert needle.text in made[lex.entries[needle.entry].id], needle


def test_variants_cli_shows_hand_made_spellings_and_terms_outside_the_lexicon(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    lines = run(home, "discover", "variants", "딥페", "합성놀이터", "--json").stdout
    deep, other = (json.loads(x) for x in lines.splitlines())
    texts = {v["text"]: v["rule"] for v in deep["variants"]}
    assert texts["뒵페"] == texts["뒷페"] == "spelling"
    assert texts["ㄷㅣㅂㅍㅔ"] == "jamo" and texts["딥\u200b페"] == "zero_width"
    assert deep["in_lexicon"] and deep["entry"]
    assert not other["in_lexicon"] and other["variants"]
    assert "ㅎㅅㄴㅇㅌ" in {v["text"] for v in other["variants"]}
    human = run(home, "discover", "variants", "지인능욕").stdout
    assert "ㅈㅇㄴㅇ" in human and "\\u200b" in human and "next:" in human


# ------------------------------------------------------------------ references
def test_references_are_normalised_to_one_key() -> None:
    text = (
        "백업방 t.me/+BackupInv1te 터지면 @Backup_Jiin, 문의 x@mail.com "
        "https://t.me/s/backup_jiin t . me / Backup_Jiin / 12 tg://join?invite=BackupInv1te "
        "https://t.me/joinchat/AAAAAEkk2Wdo t.me/c/1234567890/5 t.me/share/url"
    )
    keys = [r.key for r in refs_in_text(text)]
    assert keys == ["+BackupInv1te", "@backup_jiin", "@backup_jiin", "@backup_jiin",
                    "+BackupInv1te", "+AAAAAEkk2Wdo", "c/1234567890"]  # fmt: skip
    assert parse_lead("https://t.me/Backup_Jiin").key == "@backup_jiin"
    with pytest.raises(InputError):
        parse_lead("not a room!")


# ------------------------------------------------------------------ leads
TRADING_AD = "백업방 t.me/+BackupInv1te 터지면 @backup_jiin 으로 오세요"
NEWS_MENTION = "관련 보도는 @news_lead_ch 채널 참고"


def _export(path: Path) -> Path:
    """A trading room and a news room from the reported rooms, each naming other rooms."""
    by_id = {r.room_id: r for r in reported_rooms()}
    rooms = [
        (by_id["large-mixed"], [TRADING_AD, f"다시 공지 {TRADING_AD}"]),
        (by_id["news-channel-arrest"], [NEWS_MENTION]),
    ]
    chats = []
    for i, (room, extra) in enumerate(rooms):
        texts = [m.text for m in room.messages] + extra
        chats.append(
            {
                "name": room.room_id,
                "type": "private_supergroup",
                "id": 1000 + i,
                "messages": [
                    {
                        "id": j,
                        "type": "message",
                        "date_unixtime": str(1_720_000_000 + j),
                        "from": f"user {j % 5}",
                        "from_id": f"user{j % 5}",
                        "text": t,
                    }
                    for j, t in enumerate(texts, start=1)
                ],
            }
        )
    path.mkdir(parents=True)
    doc = {"personal_information": {}, "chats": {"list": chats}}
    (path / "result.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


PREVIEW = """<!DOCTYPE html><html><head><title>{title}</title></head><body>
<div class="tgme_channel_info"><a href="https://t.me/{name}">@{name}</a></div>
<div class="tgme_widget_message" data-post="{name}/7">
 <div class="tgme_widget_message_text">지인능욕 방 새로 팜 입장료 3만원 문상
 <a href="https://t.me/+NextRoomInv1">t.me/+NextRoomInv1</a></div>
 <a class="date" href="https://t.me/{name}/7"><time datetime="2024-08-30T10:00">10:00</time></a>
</div>
<div class="tgme_widget_message" data-post="{name}/8">
 <div class="tgme_widget_message_text">겹지인 인증하면 입장 @seller_bot_kr 으로 디엠
 <img src="https://cdn.example.org/sample.jpg"></div>
</div>
</body></html>"""


def _warc_with_page(path: Path, url: str, html: str) -> None:
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        headers = StatusAndHeaders(
            "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
        )
        writer.write_record(
            writer.create_warc_record(
                url, "response", payload=io.BytesIO(html.encode()), http_headers=headers
            )
        )


def _live_message(settings: Settings) -> None:
    """A live chat's message, through the real watcher (Telegram's side faked by
    tests/fake_telegram.py)."""
    fake = FakeTelegram()
    fake.add(text_message(5, "새 방 @live_next_room 입장 문의"))
    db = Database(settings)
    try:
        watch(fake, db, settings, once=True)
    finally:
        db.close()


@pytest.mark.slow  # five runs of the real CLI
def test_leads_from_exports_live_messages_and_pages_ranked_by_the_rooms_that_named_them(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    run(home, "scan", str(_export(tmp_path / "export")), "--no-progress")
    html_root = tmp_path / "ChatExport_html"
    write_html_chat(html_root, base="", media_prefix="", title="Leak Room")
    run(home, "scan", str(html_root), "--no-progress")
    settings = load_settings(home=home, workers=1)
    _live_message(settings)
    captures = settings.captures_dir
    captures.mkdir(parents=True, mode=0o700)
    page = PREVIEW.format(title="trade chan", name="trade_chan")
    _warc_with_page(captures / "preview.warc.gz", "https://t.me/s/trade_chan", page)

    first = [json.loads(x) for x in run(home, "discover", "leads", "--json").stdout.splitlines()]
    by_key = {x["lead"]: x for x in first}
    order = [x["lead"] for x in first]

    invite = by_key["+BackupInv1te"]
    assert invite["times"] == 2 and invite["places"] == 1
    seen = invite["seen"][0]
    assert seen["room"] == "large-mixed" and seen["flagged"]
    assert seen["message_id"] and seen["by"].startswith("user") and seen["posted_at"]
    news = by_key["@news_lead_ch"]
    assert news["seen"][0]["room"] == "news-channel-arrest" and not news["seen"][0]["flagged"]
    # the bar: advertised by a flagged trading room ranks above named in a news room
    assert order.index("+BackupInv1te") < order.index("@news_lead_ch")
    assert order.index("@backup_jiin") < order.index("@news_lead_ch")
    assert invite["score"] > 0.5 > news["score"]

    alice = by_key["@alice"]  # the HTML export's link
    assert alice["seen"][0]["room"] == "Leak Room" and alice["seen"][0]["message_id"] == 101
    assert alice["seen"][0]["by"] == "Alice Kim"
    live = by_key["@live_next_room"]["seen"][0]
    assert live["url"] == "https://t.me/c/1234567890/5" and live["room"] == "겹지인 room"

    nxt = by_key["+NextRoomInv1"]["seen"][0]
    assert nxt["kind"] == "page" and nxt["url"] == "https://t.me/trade_chan/7"
    assert nxt["risk"] >= 0.5 and "@seller_bot_kr" in by_key
    assert "@trade_chan" not in by_key  # a preview names its own channel everywhere

    again = run(home, "discover", "leads", "--json", "--refresh").stdout.splitlines()
    assert [json.loads(x) for x in again] == first  # read again: no place counted twice
    human = run(home, "discover", "leads").stdout
    assert "+BackupInv1te" in human and "next: `haechi discover capture" in human
    assert "\\x0ahttps://t.me" not in human  # name and link each on its own line, not escaped


def test_a_new_message_adds_a_place_to_a_known_lead(settings: Settings, db: Database) -> None:
    fake = FakeTelegram()
    fake.add(text_message(1, "t.me/+SameInvite1"))
    watch(fake, db, settings, once=True)
    assert harvest_leads(db, settings).new_leads == 1
    fake.add(text_message(2, "again https://t.me/joinchat/SameInvite1"))
    watch(fake, db, settings, once=True)
    done = harvest_leads(db, settings)
    assert (done.messages, done.new_leads, done.new_places) == (1, 0, 1)
    (lead,) = rank_leads(db, settings)
    assert lead.key == "+SameInvite1" and lead.times == 2
    assert {n.url for n in lead.shown} == {f"https://t.me/c/1234567890/{i}" for i in (1, 2)}
    assert harvest_leads(db, settings).messages == 0  # nothing new: nothing read
    again = harvest_leads(db, settings, refresh=True)
    assert (again.messages, again.new_places) == (2, 0)
    assert rank_leads(db, settings)[0].times == 2


# ------------------------------------------------------------------ search
def _channel(cid: int, title: str, username: str, members: int) -> types.Channel:
    return types.Channel(
        id=cid, title=title, photo=types.ChatPhotoEmpty(), date=WHEN, access_hash=cid * 7,
        username=username, broadcast=True, participants_count=members,
    )  # fmt: skip


def _full(cid: int, about: str, members: int) -> messages.ChatFull:
    return messages.ChatFull(
        full_chat=types.ChannelFull(
            id=cid, about=about, read_inbox_max_id=0, read_outbox_max_id=0, unread_count=0,
            chat_photo=types.PhotoEmpty(id=0), notify_settings=types.PeerNotifySettings(),
            bot_info=[], pts=1, participants_count=members,
        ),
        chats=[], users=[],
    )  # fmt: skip


class FakeDirectory:
    """A STAND-IN FOR TELEGRAM'S SERVERS, answering with Telethon's own types: the public
    directory (contacts.Found) and channel descriptions (messages.ChatFull), with scripted
    FLOOD_WAIT errors. Every request it receives is kept, so a test sees what was asked."""

    def __init__(self) -> None:
        self.channels = {
            "딥페": [_channel(111, "딥페 작업방", "deep_work_room", 812),
                     _channel(222, "딥페이크 뉴스", "df_news_kr", 5000)],
            "뒵페": [_channel(111, "딥페 작업방", "deep_work_room", 812)],
        }  # fmt: skip
        self.about = {
            111: "지인능욕 합성 의뢰 받습니다\n입장료 문상 3만원, 디엠",
            222: "[기사] 딥페이크 성범죄 보도와 피해 지원 안내 1366",
        }
        self.requests: list[Any] = []
        self.floods: list[int] = []  # seconds, one per coming request

    async def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        if self.floods:
            raise FloodWaitError(request=None, capture=self.floods.pop(0))
        if isinstance(request, SearchRequest):
            chats = self.channels.get(request.q, [])
            peers = [types.PeerChannel(c.id) for c in chats]
            return contacts.Found(my_results=[], results=peers, chats=chats, users=[])
        if isinstance(request, GetFullChannelRequest):
            cid = request.channel.channel_id
            return _full(cid, self.about[cid], 800 if cid == 111 else 5000)
        raise AssertionError(f"a request search must never make: {type(request).__name__}")


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def test_search_records_public_rooms_as_scored_leads_and_honours_flood_waits(
    settings: Settings, db: Database
) -> None:
    fake, sleeps = FakeDirectory(), Sleeps()
    fake.floods = [7]  # the first request must wait 7 s, then goes on
    got = search_telegram(db, settings, fake, ["딥페", "뒵페"], limit=10, sleep=sleeps)
    assert sleeps.calls == [7] and got.run.waited == 7 and got.run.stopped is None
    assert got.run.queries_done == ["딥페", "뒵페"]
    assert {type(r) for r in fake.requests} == {SearchRequest, GetFullChannelRequest}
    # one description per room however many queries find it
    assert sum(isinstance(r, GetFullChannelRequest) for r in fake.requests) == 2
    risk = {room.ref.key: r for room, r in got.rooms}
    assert risk["@deep_work_room"] > 0.5 > risk["@df_news_kr"]
    ranked = {r.key: r for r in rank_leads(db, settings)}
    work = ranked["@deep_work_room"]
    assert work.title == "딥페 작업방" and work.members == 800 and work.times == 2
    assert ranked["@deep_work_room"].score > ranked["@df_news_kr"].score


def test_search_stops_cleanly_on_a_flood_wait_over_the_limit(tmp_path: Path) -> None:
    settings = load_settings(
        home=tmp_path / "h", workers=1, telegram={"max_flood_wait_seconds": 60}
    )
    db = Database(settings)
    try:
        fake, sleeps = FakeDirectory(), Sleeps()
        fake.floods = [30]
        first = search_telegram(db, settings, fake, ["딥페"], sleep=sleeps)
        assert first.run.stopped is None and sleeps.calls == [30]
        fake.floods = [3600]
        second = search_telegram(db, settings, fake, ["딥페", "뒵페"], sleep=sleeps)
        assert second.run.stopped and "3600" in second.run.stopped
        assert second.run.queries_left == ["딥페", "뒵페"] and sleeps.calls == [30]
    finally:
        db.close()


def test_search_dry_run_prints_variant_queries_and_needs_no_session(tmp_path: Path) -> None:
    home = tmp_path / "home"
    dry = run(home, "discover", "search", "딥페", "--dry-run", "--max-queries", "5").stdout
    lines = dry.splitlines()
    assert lines[0] == "딥페" and "뒵페" in lines and len(lines) == 6 and "dry run" in lines[-1]
    assert search_queries(load_settings(home=home, workers=1), ["딥페"], variants=False,
                          max_queries=5) == ["딥페"]  # fmt: skip
    live = run(home, "discover", "search", "딥페", check=False)
    assert live.returncode != 0 and "HAECHI_TELEGRAM__API_ID" in live.stderr


# ------------------------------------------------------------------ capture
class _Body(httpx.SyncByteStream):
    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Any:
        yield self.data


def _streamed(data: bytes, ctype: str) -> httpx.Response:
    """A response read as a network one is (capture streams bodies into the WARC)."""
    return httpx.Response(200, stream=_Body(data), headers={"Content-Type": ctype})


def test_capture_lead_takes_the_public_preview_through_capture_and_reads_its_leads(
    tmp_path: Path,
) -> None:
    settings = load_settings(home=tmp_path / "home", workers=1, capture={"allow_private": True})
    photo = jpeg_bytes(noise_image(3))
    asked: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        if request.url.path == "/s/trade_chan":
            html = PREVIEW.format(title="trade chan", name="trade_chan")
            return _streamed(html.encode(), "text/html; charset=utf-8")
        if request.url.host == "cdn.example.org":
            return _streamed(photo, "image/jpeg")
        return httpx.Response(404)

    db = Database(settings)
    try:
        got = capture_lead(db, settings, "@Trade_Chan", transport=httpx.MockTransport(serve))
        assert asked[0] == "https://t.me/s/trade_chan"
        assert got.capture.warc.is_file() and got.scan.seen == 1
        ranked = {r.key: r for r in rank_leads(db, settings)}
        assert ranked["@trade_chan"].held_by and "captured" in ranked["@trade_chan"].held_by
        assert ranked["+NextRoomInv1"].shown[0].url == "https://t.me/trade_chan/7"
        with pytest.raises(InputError, match="invite"):
            capture_lead(db, settings, "t.me/+NextRoomInv1", transport=httpx.MockTransport(serve))
    finally:
        db.close()
    hand = run(tmp_path / "home", "discover", "capture", "t.me/+NextRoomInv1", "--join").stdout
    assert "never joins" in hand and "haechi watch telegram --chat" in hand
