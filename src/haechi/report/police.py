"""The police report as HTML (a Jinja2 template in the package) and as PDF (reportlab, with the
Korean font from fonts-nanum, as the evidence report does): the whole report in Korean first,
then the whole report in English.

Everything that came from outside (account and room names, message text, aliases, actors) is
shown through `safe_text.visible` (control and bidirectional characters as visible escapes,
so a name cannot reorder the line around it) and then escaped for HTML or for reportlab's
paragraph markup. No media, no thumbnails, no face vectors: hashes and places only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from jinja2 import Environment, PackageLoader, select_autoescape

from haechi.evidence.report import find_korean_font
from haechi.report.model import PoliceReport
from haechi.report.offences import MINOR_NOTE_EN, MINOR_NOTE_KO
from haechi.report.text import LANGS, TEXT
from haechi.safe_text import visible

__all__ = ["find_korean_font", "render_html", "render_pdf"]


def when(at: datetime | None) -> str:
    """A time as the report prints it (YYYY-MM-DD HH:MM:SS without a zone: the headings say
    UTC, and the service gives UTC times), or a dash for none."""
    return at.strftime("%Y-%m-%d %H:%M:%S") if at is not None else "—"


def _v(value: object) -> str:
    return "" if value is None else visible(value)


def render_html(report: PoliceReport) -> str:
    """The report as one HTML page (Korean first, then English), every outside string shown
    through `safe_text.visible` and escaped."""
    env = Environment(
        loader=PackageLoader("haechi.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    env.filters["v"] = _v
    env.filters["when"] = when
    return env.get_template("police.html.j2").render(
        r=report, T=TEXT, minor_note={"ko": MINOR_NOTE_KO, "en": MINOR_NOTE_EN}
    )


def _story(r: PoliceReport, lang: str, styles: dict[str, Any], width: float) -> list[Any]:
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

    t = TEXT[lang]
    base, cell, h1, h2, h3 = (styles[k] for k in ("base", "cell", "h1", "h2", "h3"))

    def p(text: object, style: Any = cell) -> Paragraph:
        return Paragraph(escape(_v(text)), style)

    def table(rows: Sequence[Sequence[object]], widths: list[float]) -> Table:
        tbl = Table([[p(c) for c in row] for row in rows], colWidths=widths)
        tbl.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return tbl

    def kv(rows: Sequence[Sequence[object]]) -> Table:
        return table(rows, [0.28 * width, 0.72 * width])

    rooms = "; ".join(f"{name} ({rid})" for rid, name in r.rooms) or "—"
    withheld = f" ({t['withheld']}: {len(r.withheld)})" if r.withheld else ""
    story: list[Any] = [
        p(t["title"], h1),
        p(t["notice"], base),
        p(t["summary"], h2),
        kv(
            [
                [t["case"], r.case_id],
                [t["title_field"], r.title or "—"],
                [t["person"], r.person or "—"],
                [t["status"], r.status],
                [t["opened"], f"{when(r.opened_at)} ({r.opened_by})"],
                [t["created"], when(r.created_at)],
                [t["created_by"], r.created_by],
                [t["tool"], r.tool],
                [t["items"], f"{len(r.items)}{withheld}"],
                [t["accounts_n"], len(r.accounts)],
                [t["rooms"], rooms],
            ]
        ),
        p(t["accounts"], h2),
    ]
    if not r.accounts:
        story.append(p(t["no_accounts"], base))
    for n, a in enumerate(r.accounts, 1):
        names = f" — {', '.join(a.names)}" if a.names else ""
        only = f" {t['name_only']}" if a.name_only else ""
        story.append(p(f"{n}. {t['account']} {a.id}{names}{only}", h3))
        for o in a.offences:
            o_items = ", ".join(
                sha + (f" {t['withheld']}" if sha in r.withheld else "") for sha in o.items
            )
            rows: list[list[object]] = [
                [t["offence"], getattr(o.offence, f"name_{lang}")],
                [t["article"], getattr(o.offence, f"article_{lang}")],
                [t["penalty"], getattr(o.offence, f"penalty_{lang}")],
                [t["certainty"], t[o.certainty]],
            ]
            if o.notes:
                rows.append([t["notes"], "; ".join(o.notes)])
            if o_items:
                rows.append([t["item_list"], o_items])
            story.append(kv(rows))
            msgs: list[list[object]] = [[t["room"], t["message"], t["time"], t["what"], t["text"]]]
            for m in o.messages:
                mid = f"#{m.message_id}" if m.message_id is not None else "—"
                msgs.append(
                    [f"{m.room_name} ({m.room})", mid, when(m.at), "; ".join(m.what), m.text or ""]
                )
            story.append(
                table(msgs, [0.17 * width, 0.08 * width, 0.17 * width, 0.28 * width, 0.3 * width])
            )
            story.append(Spacer(1, 2))
    story.append(p(t["items_title"], h2))
    if r.withheld or r.minor_authorised:
        story.append(p(MINOR_NOTE_KO if lang == "ko" else MINOR_NOTE_EN, base))
    irows: list[list[object]] = [
        [t["sha256"], t["kind"], t["findings"], t["synthetic"], t["first_seen"], t["media"]]
    ]
    for it in r.items:
        if it.withheld:
            media = t["withheld"]
        elif it.possible_minor:
            media = t["authorised"]
        else:
            media = t["not_in_package"] if r.package.media == "none" else t["in_package"]
        irows.append(
            [
                it.sha256,
                it.kind or "—",
                "; ".join(it.findings) or "—",
                it.synthetic or "—",
                when(it.first_seen),
                media,
            ]
        )
    story.append(
        table(
            irows,
            [0.3 * width, 0.08 * width, 0.2 * width, 0.12 * width, 0.14 * width, 0.16 * width],
        )
    )
    relations = [
        [it.sha256, getattr(rel, lang), rel.related_item, rel.difference_picture or "—"]
        for it in r.items
        for rel in it.relations
    ]
    if relations:
        story += [p(t["relations"], h2), p(t["relations_about"], base)]
        story.append(
            table(
                [[t["sha256"], t["relation"], t["related_item"], t["picture"]], *relations],
                [0.2 * width, 0.4 * width, 0.2 * width, 0.2 * width],
            )
        )
    story.append(p(t["timeline"], h2))
    story.append(
        table(
            [
                [t["time"], t["what"]],
                *([when(e.at), e.ko if lang == "ko" else e.en] for e in r.timeline),
            ],
            [0.25 * width, 0.75 * width],
        )
    )
    if r.takedowns:
        story.append(p(t["takedowns"], h2))
        story.append(
            table(
                [[d.id, d.platform, d.state, when(d.sent_at)] for d in r.takedowns],
                [0.1 * width, 0.4 * width, 0.25 * width, 0.25 * width],
            )
        )
    pk = r.package
    ts = pk.timestamp
    story += [
        p(t["package"], h2),
        kv(
            [
                [t["package_folder"], f"{pk.folder}/"],
                [t["package_sums"], pk.sha256sums],
                [t["package_files"], pk.files],
                [
                    t["package_media"],
                    t["in_package"] if pk.media != "none" else t["not_in_package"],
                ],
                [t["custody_head"], f"seq {pk.head_seq}, {pk.head_hash}"],
                [
                    t["timestamp"],
                    f"seq {ts['seq']}, {ts['gen_time']}, {ts['tsa_url']} "
                    f"({pk.folder}/{ts['token_file']})"
                    if ts
                    else t["no_timestamp"],
                ],
                *(
                    [[t["left_out"], "; ".join(f"{s}: {w}" for s, w in pk.left_out)]]
                    if pk.left_out
                    else []
                ),
            ]
        ),
        p(t["verify"], base),
        p(t["custody"], h2),
        p(t["custody_more"].format(shown=len(r.custody), total=r.custody_total), base),
        table(
            [
                [t["seq"], t["time"], t["actor"], t["action"], t["object"], "hash"],
                *([c.seq, c.at, c.actor, c.action, c.object, c.entry_hash] for c in r.custody),
            ],
            [0.06 * width, 0.17 * width, 0.12 * width, 0.1 * width, 0.25 * width, 0.3 * width],
        ),
        p(t["not_established"], h2),
        *(p(f"• {g.ko if lang == 'ko' else g.en}", base) for g in r.not_established),
    ]
    return story


def render_pdf(report: PoliceReport, path: Path) -> None:
    """The same content as the HTML, Korean part then English part, the Korean font embedded."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import PageBreak, SimpleDocTemplate

    font = find_korean_font()
    if "HaechiKorean" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("HaechiKorean", str(font)))
    base = ParagraphStyle("base", fontName="HaechiKorean", fontSize=8.5, leading=11.5)
    styles = {
        "base": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=7, leading=9, wordWrap="CJK"),
        "h1": ParagraphStyle("h1", parent=base, fontSize=15, leading=20, spaceAfter=6),
        "h2": ParagraphStyle("h2", parent=base, fontSize=11.5, leading=15, spaceBefore=8),
        "h3": ParagraphStyle("h3", parent=base, fontSize=9.5, leading=13, spaceBefore=6),
    }
    width = A4[0] - 30 * mm
    story: list[Any] = []
    for lang in LANGS:
        if story:
            story.append(PageBreak())
        story += _story(report, lang, styles, width)
    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"{TEXT['ko']['title']} / {TEXT['en']['title']} — {report.case_id}",
        author=visible(report.created_by),
        creator=report.tool,
    )
    doc.build(story)
