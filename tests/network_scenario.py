"""A generated distribution network with known ground truth, written as a Telegram Desktop
full-account export (`chats.list`) with media the test makes: abstract noise pictures and
re-encoded copies of them, nothing else. Invented names; nothing real, nothing sexual.

Rooms: a production room, a resale room, three viewer rooms (forwards and re-posts between
them), two decoy rooms that talk about deepfakes in the news and in victim support (the news
channel also posts a copy of the makers' content with an article), and, when a public face
photo is given, a quiet room where that photo is posted and re-posted with no risky word: only a
finding (the photo's person enrolled) makes it content of interest. The
truth is what the generator did, in the terms an export can express: an account the export
shows only by display name is "name:<name>"; members who left no trace at all stay in the
truth with their id (no export can show them: they lower recall on purpose)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import numpy as np
from conftest import jpeg_bytes
from PIL import Image, ImageDraw

T0 = datetime(2024, 8, 1, 12, 0, tzinfo=UTC)

# account id -> display name
PEOPLE = {
    "user9001": "작업자K",
    "user9002": "제작러",
    "user9003": "판매상",
    "user9004": "방장",
    "user9005": "의뢰인",
    "user9006": "퍼나르기1",
    "user9007": "퍼나르기2",
    "user9008": "퍼나르기3",
    "user9010": "민수",
    "user9011": "민수",
    **{f"user90{n}": f"member{n}" for n in range(20, 48)},
    "user9060": "동네친구1",
    "user9061": "동네친구2",
    "user9062": "동네친구3",
    "user9063": "동네친구4",
    "user9050": "기자봇",
    "user9051": "뉴스러",
    "user9052": "상담가",
    "user9053": "시민1",
    "user9054": "시민2",
}
PEOPLE["user9024"] = "지훈"
PEOPLE["user9044"] = "새로운사람"


@dataclass
class Truth:
    roles: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # content name -> rooms it was posted in, and who posted it there
    posted: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    members: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    name_only: set[str] = field(default_factory=set)
    seen_ids: set[str] = field(default_factory=set)
    silent: set[str] = field(default_factory=set)
    content_rooms: set[str] = field(default_factory=set)
    decoy_accounts: set[str] = field(default_factory=set)
    uncertain_forwards: set[str] = field(default_factory=set)  # room ids of such forwards
    cluster_items: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def key(self, account: str) -> str:
        return f"name:{PEOPLE[account]}" if account in self.name_only else account


def abstract_image(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """Coloured rectangles and ellipses on a gradient: structure PDQ can hold through resizing
    and recompression. Drawn large, then scaled, so every size shows the same picture."""
    rng = np.random.default_rng(seed)
    w, h = 640, 480
    ramp = np.linspace(0, 1, w)[None, :, None] * rng.integers(0, 255, 3)
    base = np.broadcast_to(ramp, (h, w, 3)) + rng.integers(0, 80, 3)
    im = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(im)
    for _ in range(14):
        x0, y0 = int(rng.integers(0, w - 60)), int(rng.integers(0, h - 60))
        x1, y1 = x0 + int(rng.integers(40, 260)), y0 + int(rng.integers(40, 200))
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x1, y1), fill=colour)
    return im.resize(size, Image.Resampling.LANCZOS)


def abstract_video(path: Path, seeds: list[int], size: tuple[int, int], fps: int = 5) -> None:
    """An H.264 clip showing one abstract picture per second."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
        for seed in seeds:
            rgb = np.asarray(abstract_image(seed, size))
            for _ in range(fps):
                for p in s.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                    c.mux(p)
        for p in s.encode():
            c.mux(p)


class _Room:
    def __init__(self, export: Scenario, rid: int, name: str, folder: str) -> None:
        self.export, self.id, self.name, self.folder = export, rid, name, folder
        self.messages: list[dict[str, Any]] = []
        self.t = T0
        self.next_id = 1

    def _base(self, when: timedelta | None) -> dict[str, Any]:
        self.t = self.t + (when or timedelta(minutes=3))
        mid = self.next_id
        self.next_id += 1
        stamp = int(self.t.timestamp())
        return {
            "id": mid,
            "date": self.t.strftime("%Y-%m-%dT%H:%M:%S"),
            "date_unixtime": str(stamp),
        }

    def say(self, who: str, text: str, **extra: Any) -> int:
        when = extra.pop("after", None)
        m = self._base(when)
        m.update(type="message", **{"from": PEOPLE[who], "from_id": who})
        m["text"] = text
        m["text_entities"] = [{"type": "plain", "text": text}] if text else []
        m.update(extra)
        self.messages.append(m)
        self.export.truth.members[str(self.id)].add(who)
        self.export.truth.seen_ids.add(who)
        return int(m["id"])

    def post(self, who: str, media: str, text: str = "", **extra: Any) -> int:
        path = self.export.media[media]
        rel = f"chats/{self.folder}/{path.name}"
        target = self.export.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
        if path.suffix == ".mp4":
            extra.update(file=rel, media_type="video_file", mime_type="video/mp4")
        else:
            extra.update(photo=rel, width=320, height=240)
        return self.say(who, text, **extra)

    def service(self, actor: str, action: str, **extra: Any) -> None:
        m = self._base(None)
        m.update(type="service", actor=PEOPLE[actor], actor_id=actor, action=action)
        m["text"] = ""
        m["text_entities"] = []
        m.update(extra)
        self.messages.append(m)
        self.export.truth.members[str(self.id)].add(actor)
        self.export.truth.seen_ids.add(actor)

    def join(self, who: str) -> None:
        self.service(who, "join_group_by_link", inviter="Group")

    def invite(self, by: str, names: list[str]) -> None:
        """An invite service message naming members by display name only."""
        self.service(by, "invite_members", members=[PEOPLE[n] for n in names])
        self.export.truth.members[str(self.id)].update(names)

    def silent(self, who: str) -> None:
        """A member who never left a trace the export could show."""
        self.export.truth.members[str(self.id)].add(who)
        self.export.truth.silent.add(who)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": "private_supergroup",
            "id": self.id,
            "messages": self.messages,
        }


class Scenario:
    def __init__(self, root: Path, media_dir: Path, face: Path | None = None) -> None:
        self.root = root
        self.truth = Truth()
        self.media: dict[str, Path] = {}
        self._make_media(media_dir)
        if face is not None:  # a public test photo, as it is (JPEG)
            p = media_dir / "P.jpg"
            p.write_bytes(face.read_bytes())
            self.media["P"] = p

    def _make_media(self, d: Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        seeds = {
            "A": 501,
            "B": 502,
            "C": 503,
            "D": 504,
            "F": 506,
            "G": 507,
            "X": 508,
            "N": 509,
            "S": 510,
        }
        for name, seed in seeds.items():
            p = d / f"{name}.jpg"
            p.write_bytes(jpeg_bytes(abstract_image(seed)))
            self.media[name] = p
        # B re-encoded: smaller and more compressed, a different file with the same content.
        small = Image.open(self.media["B"]).resize((240, 180), Image.Resampling.LANCZOS)
        p = d / "B_reencoded.jpg"
        p.write_bytes(jpeg_bytes(small, quality=60))
        self.media["B2"] = p
        for name, size in (("E", (160, 120)), ("E2", (224, 168))):
            p = d / f"{name}.mp4"
            abstract_video(p, [601, 602, 603], size)
            self.media[name] = p

    def build(self) -> Truth:
        tr = self.truth
        prod = _Room(self, 7001, "지인능욕 작업방", "chat_001")
        resale = _Room(self, 7002, "자료 판매방", "chat_002")
        v1 = _Room(self, 7003, "겹지인방 2", "chat_003")
        v2 = _Room(self, 7004, "잡담방", "chat_004")
        v3 = _Room(self, 7005, "친구들", "chat_005")
        news = _Room(self, 7006, "딥페이크 뉴스 공유", "chat_006")
        support = _Room(self, 7007, "피해자 지원 상담방", "chat_007")
        for i, r in enumerate((resale, v1, v2, v3)):
            r.t = T0 + timedelta(days=i + 1)

        # -- production room: makers, a requester, members -----------------------------------
        prod.say("user9001", "지인능욕 작업방입니다. 겹지인 인증하면 입장, 합성 의뢰 받습니다")
        prod.join("user9020")
        prod.silent("user9021")
        prod.say("user9003", "판매상입니다 잘 부탁")
        prod.post("user9001", "A", "신작 올립니다")
        prod.post("user9001", "B", "두번째 작업물")
        prod.post("user9005", "X", "이 사람 합성해주세요 부탁드립니다 같은 학교 애")
        prod.say("user9001", "작업 가능합니다 내일 올림")
        prod.post("user9001", "C", "의뢰 작업 완료", after=timedelta(hours=5))
        prod.post("user9002", "D", "신작 딥페 샘플, 풀버전 가격 3만원 문상 DM")
        prod.post("user9002", "E", "영상 작업물")
        prod.post("user9010", "F", "제가 만든 합성")
        prod.say("user9020", "ㄷㄷ", reply_to_message_id=5)
        for c, who in (
            ("A", "user9001"),
            ("B", "user9001"),
            ("C", "user9001"),
            ("D", "user9002"),
            ("E", "user9002"),
            ("F", "user9010"),
        ):
            tr.posted[c].append((str(prod.id), who))
            tr.roles["creator_candidate"].add(who)
        tr.roles["requester"].add("user9005")
        tr.roles["seller"].add("user9002")

        # -- resale room: a seller re-sells the makers' work, an admin sells entry ------------
        resale.say("user9004", "지인능욕 합성본 판매방, 유출금지")
        resale.say("user9004", "자료 판매방 입장료 2만원 문상으로, 입금 확인 후 링크 드림")
        resale.post(
            "user9003",
            "A",
            "샘플 공개, 풀버전 5만원 문상 입금 후 DM",
            forwarded_from="작업자K",
            after=timedelta(hours=2),
        )
        resale.post("user9003", "B", "이것도 판매중", forwarded_from="작업자K")
        resale.say("user9006", "입금했습니다 확인 부탁드려요")
        resale.say("user9022", "얼마에요?")
        resale.join("user9023")
        resale.say("user9007", "저도 입금했어요")
        resale.invite("user9004", ["user9024"])
        resale.silent("user9025")
        for c in ("A", "B"):
            tr.posted[c].append((str(resale.id), "user9003"))
        tr.roles["seller"].update({"user9003", "user9004"})
        tr.roles["distributor"].add("user9003")

        # -- viewer rooms: forwards and re-posts --------------------------------------------
        v1.say("user9030", "겹지인 인증하면 입장, 지인능욕 자료 올려주세요")
        v1.say("user9030", "겹지인방 규칙: 자료 올려야 입장, 유출금지")
        v1.say("user9030", "지인능욕 자료 공유방입니다 인증 필수")
        v1.join("user9031")
        v1.join("user9008")
        a_v1 = v1.post("user9006", "A", "퍼옴", forwarded_from="작업자K", after=timedelta(hours=3))
        v1.post("user9006", "G", "다른 데서 가져옴", forwarded_from="어느채널")
        v1.say(
            "user9032",
            "ㅋㅋ 저장",
            reply_to_message_id=a_v1,
            reactions=[{"type": "emoji", "count": 4, "emoji": "🔥"}],
        )
        v1.say("user9033", "더 올려주세요")
        v1.invite("user9030", ["user9034"])
        tr.posted["A"].append((str(v1.id), "user9006"))
        tr.posted["G"].append((str(v1.id), "user9006"))
        tr.roles["creator_candidate"].add("name:어느채널")
        tr.roles["distributor"].update({"user9006"})

        v2.say("user9035", "안녕하세요")
        v2.say("user9024", "ㅎㅇ")
        v2.say("user9011", "반가워요")
        v2.join("user9036")
        v2.post("user9007", "B2", "ㅋㅋ 이거 봄?", after=timedelta(hours=4))
        v2.post("user9007", "E2", "영상도")
        v2.post("user9007", "F", "", forwarded_from="민수")
        v2.say("user9037", "ㄷㄷ")
        v2.silent("user9038")
        v2.join("user9053")
        for c in ("B", "E", "F"):
            tr.posted[c].append((str(v2.id), "user9007"))
        tr.roles["distributor"].add("user9007")
        tr.uncertain_forwards.add(str(v2.id))

        v3.say("user9040", "하이")
        v3.say("user9041", "ㅎㅎ")
        v3.post("user9008", "A", "", forwarded_from="작업자K", after=timedelta(hours=6))
        v3.say("user9042", "뭐임")
        v3.join("user9043")
        v3.invite("user9040", ["user9044"])
        tr.posted["A"].append((str(v3.id), "user9008"))
        tr.roles["distributor"].add("user9008")

        # -- decoys: deepfakes in the news, and victim support --------------------------------
        news.say(
            "user9050", "[속보] 텔레그램 딥페이크 판매 일당 검거… 건당 5만원에 거래, 경찰 수사 중"
        )
        news.post("user9050", "N", "관련 기사 사진, 연합뉴스 보도")
        news.say("user9051", "지인능욕방 운영자 구속 기사 떴네요, 처벌 강화 법안 국회 통과")
        news.say("user9053", "이런 범죄는 신고해야 합니다")
        # The news channel posts a copy of A with its article: a report, not a distribution.
        news.post(
            "user9050",
            "A",
            "[기사] 텔레그램 지인능욕방 운영자 검거… 피해 상담은 1366",
            after=timedelta(days=6),
        )
        support.say(
            "user9052", "딥페이크 피해 상담은 디지털성범죄피해자지원센터 1366으로, 혼자가 아니에요"
        )
        support.post("user9052", "S", "예방 캠페인 포스터입니다, 공유하지마세요 신고하세요")
        support.post("user9051", "N", "뉴스 공유", forwarded_from="기자봇")
        support.say("user9054", "합성해주세요 같은 글 보면 바로 신고하세요, 캡처 후 신고")
        tr.decoy_accounts.update({"user9050", "user9051", "user9052", "user9054"})

        rooms = [prod, resale, v1, v2, v3, news, support]
        if "P" in self.media:
            # -- a quiet room: no risky word, but the photo shows an enrolled person ----------
            quiet = _Room(self, 7008, "동네 친구들", "chat_008")
            quiet.t = T0 + timedelta(days=2)
            quiet.say("user9062", "ㅎㅇ 오늘 뭐해")
            quiet.post("user9060", "P", "ㅋㅋ")
            quiet.say("user9063", "누구임?")
            quiet.post("user9061", "P", "이거 봤어?", after=timedelta(hours=2))
            tr.posted["P"] += [(str(quiet.id), "user9060"), (str(quiet.id), "user9061")]
            tr.roles["creator_candidate"].add("user9060")
            tr.roles["distributor"].add("user9061")
            rooms.append(quiet)

        everyone = set().union(*tr.members.values())
        tr.name_only = everyone - tr.seen_ids - tr.silent
        # -- truth: viewers are the members of rooms where content was posted, other than
        #    the accounts that posted that content themselves
        for content, places in tr.posted.items():
            own = {who for _room, who in places}
            for room, _who in places:
                tr.content_rooms.add(room)
                tr.roles["viewer"].update(m for m in tr.members[room] if m not in own)
            del content
        for role in list(tr.roles):
            tr.roles[role] = {tr.key(a) if a in PEOPLE else a for a in tr.roles[role]}

        export = {
            "about": "generated by haechi tests: invented people, abstract pictures",
            "personal_information": {"user_id": 1, "first_name": "Exporter"},
            "chats": {"about": "chats", "list": [r.to_json() for r in rooms]},
        }
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "result.json").write_text(
            json.dumps(export, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        return tr


def write_scenario(root: Path, media_dir: Path, face: Path | None = None) -> Truth:
    return Scenario(root, media_dir, face).build()


@dataclass(frozen=True)
class RoleScore:
    role: str
    truth: int
    predicted: int
    tp: int
    missed: tuple[str, ...]
    extra: tuple[str, ...]

    @property
    def precision(self) -> float:
        return self.tp / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.tp / self.truth if self.truth else 1.0


def score_roles(claims: list[tuple[str, str]], truth: Truth) -> list[RoleScore]:
    """Account-level precision and recall per role from (role, account) claims."""
    pred: dict[str, set[str]] = defaultdict(set)
    for role, account in claims:
        pred[role].add(account)
    out = []
    for role in ("creator_candidate", "distributor", "seller", "requester", "viewer"):
        t, p = truth.roles[role], pred[role]
        out.append(
            RoleScore(role, len(t), len(p), len(t & p), tuple(sorted(t - p)), tuple(sorted(p - t)))
        )
    return out
