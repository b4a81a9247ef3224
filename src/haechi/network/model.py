"""The distribution network as typed values: accounts, rooms, posts of content, content clusters,
forward links and role claims, each claim with the messages behind it.

Every claim is a lead for a person to check, never a verdict: a "creator candidate" is the
poster of the earliest sighting in this corpus, nothing more. Nothing here reads the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Role = Literal["creator_candidate", "distributor", "seller", "requester", "viewer"]
ROLES: tuple[Role, ...] = ("creator_candidate", "distributor", "seller", "requester", "viewer")

# How sure a claim or a link is, from most to least:
#   "observed"   the export shows the act itself (this account posted this file in this room);
#   "inferred"   read from order in time or words next to the content (earliest seen, sale
#                language beside a post, membership from a service message);
#   "uncertain"  rests on a display name that several accounts carry, or on a guess of path.
Certainty = Literal["observed", "inferred", "uncertain"]

# Why content is of interest: posted in a flagged room, on a message with risky words, matched
# to an enrolled person (face or own media: a finding), a high sexual score, a synthetic or
# manipulated verdict, a hash-bank match.
Interest = Literal["flagged_room", "risky_words", "finding", "sexual", "synthetic", "bank_match"]
INTEREST_LABELS: dict[Interest, tuple[str, str]] = {
    "flagged_room": ("posted in a flagged room", "위험 방에 게시"),
    "risky_words": ("posted with risky words", "위험 문구와 함께 게시"),
    "finding": ("an enrolled person's face or own media", "등록된 사람의 얼굴·본인 자료"),
    "sexual": ("high sexual score", "성적 점수 높음"),
    "synthetic": ("synthetic or manipulated verdict", "합성·조작 판정"),
    "bank_match": ("hash-bank match", "해시 목록 일치"),
}

ROLE_LABELS: dict[Role, tuple[str, str]] = {
    "creator_candidate": ("creator candidate (earliest seen)", "제작 추정 (최초 목격)"),
    "distributor": ("distributor", "유포"),
    "seller": ("seller", "판매"),
    "requester": ("requester", "제작 의뢰"),
    "viewer": ("viewer / possessor", "시청·소지"),
}


@dataclass(frozen=True)
class Account:
    """A poster or member. `id` is the source's account id ("user42", "channel7") or, when the
    export names someone without an id, "name:<display name>"."""

    id: str
    names: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The name to show: the first display name seen, else the id."""
        return self.names[0] if self.names else self.id

    @property
    def name_only(self) -> bool:
        """True when the export named the account without an id, so two people with one display
        name may be merged."""
        return self.id.startswith("name:")


@dataclass(frozen=True)
class RoomRef:
    """A chat room. `id` is stable across exports of the same Telegram chat (its numeric id)."""

    id: str
    key: str
    name: str
    kind: str
    source: str
    risk: float = 0.0
    flagged: bool = False
    # Share of its lines that talk about the topic (news, support, police, campaign words).
    context: float = 0.0


@dataclass(frozen=True)
class EvidenceRef:
    """One message (or file) behind a claim: where, when, what it shows."""

    room: str
    room_name: str
    message_id: int | None
    at: datetime | None
    what: str
    item: str | None = None
    text: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The message reference as the dossier and the API carry it."""
        return {
            "room": self.room,
            "room_name": self.room_name,
            "message_id": self.message_id,
            "at": self.at.isoformat() if self.at else None,
            "what": self.what,
            "item": self.item,
            "text": self.text,
        }


@dataclass(frozen=True)
class ForwardOrigin:
    """What a forward header says: an id and post id (live Telegram) or a display name only
    (Telegram Desktop exports)."""

    name: str | None = None
    account_id: str | None = None
    message_id: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class Post:
    """One file of one content cluster posted in one message."""

    cluster: str
    item: str
    room: str
    message_id: int | None
    at: datetime | None
    account: str | None
    forward: ForwardOrigin | None = None
    text: str = ""
    reactions: int = 0
    # Posted to report on the content (a news article, a support or police notice), not to
    # spread it: such a post makes no creator, distributor, seller or viewer.
    reporting: bool = False

    @property
    def order(self) -> tuple[datetime | None, str, int]:
        """Sort key for when a post appeared: time, then room, then message id (callers put
        posts without a time last themselves)."""
        return (self.at, self.room, self.message_id or 0)


@dataclass(frozen=True)
class ClusterLink:
    """Why two items are one piece of content."""

    a: str
    b: str
    how: Literal["pdq", "vpdq"]
    distance: float


@dataclass(frozen=True)
class ContentCluster:
    """Files that are one piece of content: identical bytes, PDQ within the threshold, or video
    frame bags that match. `of_interest`: only such clusters get roles. `interest` says why, as
    INTEREST kinds; `why` says it in words, with the room, message or score behind it."""

    id: str
    items: tuple[str, ...]
    links: tuple[ClusterLink, ...] = ()
    first_seen: datetime | None = None
    of_interest: bool = False
    why: tuple[str, ...] = ()
    request_photo: bool = False
    interest: tuple[Interest, ...] = ()


@dataclass(frozen=True)
class ForwardLink:
    """Content moving from one place to another. `from_account` / `from_room` are where it came
    from as far as the corpus shows; `basis` says how that was read."""

    cluster: str
    to_room: str
    to_message: int | None
    at: datetime | None
    by_account: str | None
    from_account: str | None
    from_room: str | None
    certainty: Certainty
    basis: str


@dataclass(frozen=True)
class RoleClaim:
    """A lead that `account` acted as `role` for one content cluster (None for a claim about
    no one cluster), with the messages behind it and how directly they show it."""

    role: Role
    account: str
    cluster: str | None
    evidence: tuple[EvidenceRef, ...]
    certainty: Certainty
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """The claim as `network --json`, the dossier and the API carry it."""
        return {
            "role": self.role,
            "account": self.account,
            "cluster": self.cluster,
            "certainty": self.certainty,
            "note": self.note,
            "evidence": [e.to_json() for e in self.evidence],
        }


@dataclass(frozen=True)
class Membership:
    """An account seen in a room, with how (spoke, joined, was invited, replied)."""

    account: str
    room: str
    evidence: tuple[EvidenceRef, ...]
    certainty: Certainty


NOTICE_EN = (
    "A lead for investigators, never a verdict: roles are read from what this corpus shows. "
    "'Creator candidate' means the earliest poster seen here, not proven authorship."
)
NOTICE_KO = (
    "수사 단서일 뿐 판단이 아닙니다. 역할은 이 자료에 보이는 것만으로 추정했습니다. "
    "'제작 추정'은 이 자료에서 가장 먼저 올린 계정이라는 뜻이며 제작을 증명하지 않습니다."
)
CANNOT_SHOW: tuple[str, ...] = (
    "who downloaded or saved a file (exports record posts, not downloads)",
    "who only read a room without ever speaking, joining or being invited after the export began",
    "who reacted: a Telegram Desktop export keeps reaction counts, not always who reacted",
    "the forward chain beyond the original author: a forwarded copy names its first author only, "
    "not the rooms it passed through",
    "messages deleted before the export, and rooms the exporting account could not see",
)
CANNOT_SHOW_KO: tuple[str, ...] = (
    "누가 파일을 내려받거나 저장했는지 (내보내기에는 게시만 남고 다운로드는 남지 않음)",
    "말하거나 입장·초대 기록 없이 읽기만 한 사람",
    "누가 반응했는지 (반응 수만 남는 경우가 많음)",
    "원 작성자 이후의 전달 경로 (전달본에는 최초 작성자 이름만 남음)",
    "내보내기 전에 지워진 메시지와 내보낸 계정이 볼 수 없던 방",
)


@dataclass(frozen=True)
class FindingRef:
    """The findings of one kind about one subject in one item, as one line: the best score
    (similarity; distance for own media) and how many places (frames) matched."""

    kind: str
    person: str | None
    score: float
    places: int


@dataclass(frozen=True)
class ItemFacts:
    """What marks an item besides the chat around it: its findings (not dismissed), its sexual
    score, its synthetic verdict."""

    findings: tuple[FindingRef, ...] = ()
    sexual: float | None = None
    synthetic: str | None = None


@dataclass(frozen=True)
class Network:
    """The whole distribution network of a corpus: accounts, rooms and content clusters by id,
    the posts, forwards and memberships between them, and the role claims drawn from those."""

    accounts: dict[str, Account]
    rooms: dict[str, RoomRef]
    clusters: dict[str, ContentCluster]
    posts: tuple[Post, ...]
    forwards: tuple[ForwardLink, ...]
    members: tuple[Membership, ...]
    claims: tuple[RoleClaim, ...]
    item_cluster: dict[str, str] = field(default_factory=dict)
    # Findings, sexual score and synthetic verdict of the items in chat rooms.
    facts: dict[str, ItemFacts] = field(default_factory=dict)

    def claims_for(self, account: str) -> list[RoleClaim]:
        """Every claim about one account, in the order they were made."""
        return [c for c in self.claims if c.account == account]

    def roles_of(self, account: str) -> list[Role]:
        """The distinct roles claimed for one account, in the order of `ROLES`."""
        have = {c.role for c in self.claims if c.account == account}
        return [r for r in ROLES if r in have]
