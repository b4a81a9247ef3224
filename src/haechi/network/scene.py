"""The picture of one content cluster's network as a scene: a list of shapes (lines, circles,
boxes, text) in picture coordinates, laid out with the rooms left to right in order of first
sighting, posters above them, viewers below, forwards as arcs, and a bilingual legend and
notice. Kept apart from the drawing (`haechi.network.render`, SVG or PNG), so the layout is
read, and tested, without a drawing library."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from haechi.errors import InputError
from haechi.i18n import _
from haechi.network.export import CONTENT_COLOUR, PLAIN_COLOUR, PRIORITY, ROLE_COLOURS
from haechi.network.model import NOTICE_EN, NOTICE_KO, ROLE_LABELS, ROLES, Network, Role

RGB = tuple[int, int, int]
MAX_VIEWERS = 6


@dataclass(frozen=True)
class Line:
    """A straight line in picture coordinates (pixels before scaling), dashed for an uncertain
    link, with an arrow head at its end when `arrow`."""

    x1: float
    y1: float
    x2: float
    y2: float
    colour: RGB
    dashed: bool = False
    width: int = 2
    arrow: bool = False


@dataclass(frozen=True)
class Circle:
    """A filled circle (an account) in picture coordinates."""

    x: float
    y: float
    r: float
    fill: RGB


@dataclass(frozen=True)
class Box:
    """A filled rounded rectangle (a room or a legend key) in picture coordinates."""

    x: float
    y: float
    w: float
    h: float
    fill: RGB
    outline: RGB = (60, 60, 60)


@dataclass(frozen=True)
class Text:
    """A line of text; `y` is its baseline and `anchor` says whether `x` is its start or middle."""

    x: float
    y: float
    text: str
    size: int = 13
    colour: RGB = (20, 20, 20)
    anchor: Literal["start", "middle"] = "middle"


Shape = Line | Circle | Box | Text


@dataclass(frozen=True)
class Scene:
    """A whole picture: its size in pixels and its shapes, drawn in order (later on top)."""

    width: int
    height: int
    shapes: tuple[Shape, ...]


def _short(s: str, n: int = 22) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def cluster_scene(net: Network, cluster: str) -> Scene:
    """The picture of one content cluster's network as shapes; raises InputError for an
    unknown cluster."""
    if cluster not in net.clusters:
        raise InputError(_("no content cluster {cluster!r}").format(cluster=cluster))
    c = net.clusters[cluster]
    posts = [p for p in net.posts if p.cluster == cluster]
    rooms: list[str] = []
    for p in posts:
        if p.room not in rooms:
            rooms.append(p.room)
    claims = [k for k in net.claims if k.cluster == cluster]
    roles: dict[str, set[Role]] = {}
    for k in claims:
        roles.setdefault(k.account, set()).add(k.role)

    col_w = 240
    width = max(1100, 200 + col_w * len(rooms))
    height = 760
    mid = 330
    shapes: list[Shape] = []
    shapes.append(
        Text(
            24,
            32,
            f"Content {cluster} — {len(c.items)} file(s), first seen "
            f"{c.first_seen:%Y-%m-%d %H:%M} UTC"
            if c.first_seen
            else f"Content {cluster}",
            18,
            anchor="start",
        )
    )
    shapes.append(
        Text(
            24,
            56,
            "콘텐츠 유포 경로 · distribution of one piece of content "
            "(a lead, not a verdict / 단서이며 판단이 아님)",
            13,
            (90, 90, 90),
            "start",
        )
    )
    room_x = {r: 200 + col_w * i + col_w / 2 for i, r in enumerate(rooms)}
    cx = 80
    shapes.append(Circle(cx, mid, 26, CONTENT_COLOUR))
    shapes.append(Text(cx, mid + 46, "content", 12))
    shapes.append(Text(cx, mid + 62, cluster[:9], 11, (90, 90, 90)))
    if rooms:
        shapes.append(Line(cx + 26, mid, room_x[rooms[0]] - 80, mid, (60, 60, 60), arrow=True))

    # forwards between rooms: arcs drawn as three segments above the room row
    for n, f in enumerate(x for x in net.forwards if x.cluster == cluster):
        if not f.from_room or f.from_room not in room_x or f.to_room not in room_x:
            continue
        x1, x2 = room_x[f.from_room], room_x[f.to_room]
        lift = 70 + 16 * (n % 4)
        colour = (150, 150, 150) if f.certainty == "uncertain" else (40, 40, 40)
        dashed = f.certainty == "uncertain"
        y = mid - lift
        shapes.append(Line(x1, mid - 22, x1 + 10, y, colour, dashed))
        shapes.append(Line(x1 + 10, y, x2 - 10, y, colour, dashed))
        shapes.append(Line(x2 - 10, y, x2, mid - 22, colour, dashed, arrow=True))
        label = "forward" if f.basis.startswith("forward") else "path?"
        shapes.append(Text((x1 + x2) / 2, y - 4, f"{label} ({f.certainty})", 10, colour))

    # rooms
    for r in rooms:
        room = net.rooms.get(r)
        x = room_x[r]
        shapes.append(Box(x - 80, mid - 22, 160, 44, (235, 235, 235)))
        shapes.append(Text(x, mid - 2, _short(room.name if room else r, 18), 13))
        risk = f"risk {room.risk:.2f}" + (" flagged" if room.flagged else "") if room else ""
        shapes.append(Text(x, mid + 14, f"room {r} · {risk}", 10, (90, 90, 90)))

    # posters (and sellers/requesters who spoke beside the content) above the rooms
    placed: set[tuple[str, str]] = set()
    above: dict[str, list[tuple[str, str]]] = {r: [] for r in rooms}
    for p in posts:
        if p.account and (p.room, p.account) not in placed:
            placed.add((p.room, p.account))
            when = f"#{p.message_id} {p.at:%m-%d %H:%M}" if p.at else f"#{p.message_id}"
            above[p.room].append((p.account, ("fwd " if p.forward else "post ") + when))
    for k in claims:
        if k.role in ("seller", "requester"):
            for e in k.evidence:
                if e.room in above and (e.room, k.account) not in placed:
                    placed.add((e.room, k.account))
                    above[e.room].append((k.account, f"said #{e.message_id}"))
    for r, people in above.items():
        x = room_x[r]
        for i, (aid, what) in enumerate(people[:3]):
            y = mid - 150 - 62 * i
            px = x + (i % 2) * 40 - 20
            held = _ordered(roles.get(aid, set()) - {"viewer"})
            shapes.append(Line(px, y + 14, x, mid - 22, (60, 60, 60), arrow=True))
            # Every role as a ring, the strongest outside: a seller who is also the creator
            # candidate shows both colours, not only the first.
            for ring, role in enumerate(held):
                shapes.append(Circle(px, y, 13 + 5 * (len(held) - 1 - ring), ROLE_COLOURS[role]))
            if not held:
                shapes.append(Circle(px, y, 13, PLAIN_COLOUR))
            label = _short(net.accounts[aid].label if aid in net.accounts else aid, 16)
            shapes.append(Text(px + 24, y - 2, label, 12, anchor="start"))
            shapes.append(Text(px + 24, y + 12, what, 10, (90, 90, 90), "start"))
            if held:
                names = " + ".join(ROLE_LABELS[r][0].split(" (")[0] for r in held)
                shapes.append(Text(px + 24, y + 25, names, 10, (90, 90, 90), "start"))

    # viewers below
    for r in rooms:
        x = room_x[r]
        viewers = sorted(
            {
                k.account
                for k in claims
                if k.role == "viewer" and any(e.room == r for e in k.evidence)
            }
        )
        for i, aid in enumerate(viewers[:MAX_VIEWERS]):
            y = mid + 70 + 32 * i
            shapes.append(Line(x - 40, y, x - 40, mid + 22, (190, 190, 190), width=1))
            shapes.append(Circle(x - 40, y, 8, ROLE_COLOURS["viewer"]))
            label = _short(net.accounts[aid].label if aid in net.accounts else aid, 18)
            shapes.append(Text(x - 26, y + 4, label, 11, anchor="start"))
        if len(viewers) > MAX_VIEWERS:
            y = mid + 70 + 32 * MAX_VIEWERS
            shapes.append(
                Text(x - 40, y, f"+{len(viewers) - MAX_VIEWERS} more", 11, (90, 90, 90), "start")
            )

    # legend, then the notice beside it
    lx, ly = 24, height - 190
    shapes.append(Box(lx - 10, ly - 24, 600, 168, (250, 250, 250), (180, 180, 180)))
    shapes.append(Text(lx, ly - 6, "Roles · 역할", 13, anchor="start"))
    for i, role in enumerate(ROLES):
        y = ly + 16 + 20 * i
        shapes.append(Circle(lx + 8, y - 4, 7, ROLE_COLOURS[role]))
        en, ko = ROLE_LABELS[role]
        shapes.append(Text(lx + 24, y, f"{en} · {ko}", 12, anchor="start"))
    y = ly + 16 + 20 * len(ROLES)
    shapes.append(Box(lx + 1, y - 12, 14, 12, (235, 235, 235)))
    shapes.append(Text(lx + 24, y, "room · 방", 12, anchor="start"))
    shapes.append(Circle(lx + 118, y - 4, 7, CONTENT_COLOUR))
    shapes.append(Text(lx + 132, y, "content · 콘텐츠", 12, anchor="start"))
    sx = lx + 380
    shapes.append(Text(sx, ly - 6, "Links · 연결", 13, anchor="start"))
    shapes.append(Line(sx, ly + 12, sx + 40, ly + 12, (40, 40, 40), arrow=True))
    shapes.append(Text(sx + 48, ly + 16, "observed / inferred · 확인/추정", 11, anchor="start"))
    shapes.append(Line(sx, ly + 36, sx + 40, ly + 36, (150, 150, 150), dashed=True))
    shapes.append(Text(sx + 48, ly + 40, "uncertain · 불확실", 11, anchor="start"))
    nx_ = 640
    for i, line in enumerate([*_wrap(NOTICE_EN, 70), "", *_wrap(NOTICE_KO, 38)]):
        shapes.append(Text(nx_, ly - 6 + 17 * i, line, 11, (100, 100, 100), "start"))
    return Scene(width, height, tuple(shapes))


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line] if line else lines


def _ordered(roles: set[Role]) -> list[Role]:
    return [r for r in PRIORITY if r in roles]
