"""The human-readable part of an evidence package: one bilingual (Korean, English) report as
HTML (Jinja2 template shipped with the package) and as PDF (reportlab, with a Korean TrueType
font from the system: Debian's fonts-nanum). The report shows hashes and places, never media."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final
from xml.sax.saxutils import escape

from jinja2 import Environment, PackageLoader, select_autoescape

from haechi.errors import ConfigError
from haechi.i18n import _

TITLE_KO: Final = "디지털 증거 보존 보고서"
TITLE_EN: Final = "Digital evidence preservation report"

TEXT: Final[dict[str, Any]] = {
    "title_ko": TITLE_KO,
    "title_en": TITLE_EN,
    "about_ko": (
        "이 꾸러미는 haechi가 암호화 증거 보관소에 보존한 원본 사본과, 각 항목이 발견된 위치, "
        "해시값, 관리 연속성(Chain of custody) 기록을 담고 있습니다. 보존 이후 원본은 변경되지 "
        "않았으며, 아래 방법으로 누구나 표준 도구로 검증할 수 있습니다."
    ),
    "about_en": (
        "This package holds the evidentiary copies haechi preserved in its encrypted vault, where "
        "each item was seen, its hashes, and the chain-of-custody record. The copies have not "
        "changed since they were preserved; anyone can check this with standard tools as below."
    ),
    "media_ko": {
        "age": "수신자의 age 키로 암호화됨",
        "plain": "암호화되지 않음 (명시적 요청)",
        "none": "포함하지 않음 (해시만)",
    },
    "media_en": {
        "age": "encrypted to the recipient's age key",
        "plain": "not encrypted (explicitly requested)",
        "none": "not included (hashes only)",
    },
    "verify_sums_ko": "꾸러미 폴더에서 모든 파일의 SHA-256을 확인합니다.",
    "verify_sums_en": "In the package folder, check the SHA-256 of every file.",
    "verify_media_ko": (
        "미디어를 복호화한 뒤 SHA-256이 manifest.json의 값과 같은지 확인합니다 "
        "(복호화한 사본은 안전한 곳에만 두십시오)."
    ),
    "verify_media_en": (
        "Decrypt a media file and compare its SHA-256 with manifest.json "
        "(keep decrypted copies only in a safe place)."
    ),
    "verify_chain_ko": (
        "기록 원본을 가진 기관에서 관리 기록의 해시 연결과 보관소 전체를 검증합니다. "
        "custody/custody.jsonl의 각 항목은 앞 항목의 해시를 포함합니다."
    ),
    "verify_chain_en": (
        "Where the original data directory is kept, check the custody hash chain and every vault "
        "blob. Each entry in custody/custody.jsonl carries the hash of the one before it."
    ),
    "verify_tsa_ko": (
        "RFC 3161 시점 확인 토큰으로 관리 기록 헤드가 그 시각에 존재했음을 확인합니다."
    ),
    "verify_tsa_en": (
        "Check with the RFC 3161 timestamp token that the custody head existed at that time."
    ),
}

# Debian fonts-nanum ships these; the first one found is used.
FONT_CANDIDATES: Final = (
    Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf"),
    Path("/usr/share/fonts/truetype/nanum/NanumBarunGothic.ttf"),
    Path("/usr/local/share/fonts/NanumGothic.ttf"),
)
_FONT_GLOBS: Final = ("/usr/share/fonts/**/NanumGothic*.ttf", "/usr/local/share/fonts/**/*.ttf")


def find_korean_font() -> Path:
    """A TrueType font with Hangul, or a clear error naming the package to install."""
    for p in FONT_CANDIDATES:
        if p.is_file():
            return p
    for pattern in _FONT_GLOBS:
        root, _sep, glob = pattern.partition("**/")
        base = Path(root)
        if base.is_dir():
            for found in sorted(base.rglob(glob)):
                if "nanum" in found.name.lower():
                    return found
    raise ConfigError(
        _(
            "no Korean TrueType font found for the PDF report: install "
            "Debian's fonts-nanum (`make sysdeps`, or `apt-get install "
            "fonts-nanum`)"
        )
    )


def render_html(manifest: Mapping[str, Any], custody: Sequence[Mapping[str, Any]]) -> str:
    """The package's report as one HTML page from its manifest and custody rows (Korean and
    English, autoescaped); hashes and places only."""
    env = Environment(
        loader=PackageLoader("haechi.evidence", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    return env.get_template("report.html.j2").render(m=manifest, custody=custody, t=TEXT)


def render_pdf(
    manifest: Mapping[str, Any], custody: Sequence[Mapping[str, Any]], path: Path
) -> None:
    """The same content as the HTML report, as a PDF with the Korean font embedded."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = find_korean_font()
    if "HaechiKorean" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("HaechiKorean", str(font)))
    base = ParagraphStyle("base", fontName="HaechiKorean", fontSize=8.5, leading=11.5)
    cell = ParagraphStyle("cell", parent=base, fontSize=7, leading=9, wordWrap="CJK")
    h1 = ParagraphStyle("h1", parent=base, fontSize=15, leading=20, spaceAfter=6)
    h2 = ParagraphStyle("h2", parent=base, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=4)

    def p(text: object, style: ParagraphStyle = cell) -> Paragraph:
        return Paragraph(escape("" if text is None else str(text)), style)

    def table(rows: list[list[object]], widths: list[float]) -> Table:
        tbl = Table([[p(c) for c in r] for r in rows], colWidths=widths, repeatRows=0)
        tbl.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return tbl

    m = manifest
    width = A4[0] - 30 * mm
    story: list[Any] = [
        Paragraph(escape(TITLE_KO), h1),
        Paragraph(escape(TITLE_EN), h2),
        table(
            [
                ["사건 / Case", m["case"].get("title") or "—"],
                ["작성 시각 / Created (UTC)", m["created_at"]],
                ["작성자 / Created by", m["created_by"]],
                ["도구 / Tool", f"{m['tool']['name']} {m['tool']['version']}"],
                ["항목 수 / Items", len(m["items"])],
                [
                    "미디어 / Media",
                    f"{TEXT['media_ko'][m['media']['mode']]} / "
                    f"{TEXT['media_en'][m['media']['mode']]}",
                ],
                [
                    "관리 기록 헤드 / Custody head",
                    f"seq {m['custody']['head']['seq']}, {m['custody']['head']['head_hash']}",
                ],
            ],
            [0.3 * width, 0.7 * width],
        ),
        Spacer(1, 4 * mm),
        Paragraph("이 보고서에 대하여 / About this report", h2),
        Paragraph(escape(TEXT["about_ko"]), base),
        Paragraph(escape(TEXT["about_en"]), base),
        Paragraph("증거 항목 / Evidence items", h2),
    ]
    for i, it in enumerate(m["items"], 1):
        story.append(Paragraph(escape(f"{i}. {it['sha256']}"), base))
        story.append(
            table(
                [
                    ["SHA-256", it["sha256"]],
                    ["MD5", it["md5"]],
                    ["PDQ", it.get("pdq") or "—"],
                    ["크기 / Size", f"{it['size']} bytes"],
                    ["종류 / Kind", f"{it.get('kind') or '—'} {it.get('format') or ''}"],
                    ["보존 / Preserved", _preserved(it)],
                    ["파일 / File", it.get("media_file") or "—"],
                ],
                [0.2 * width, 0.8 * width],
            )
        )
        rows: list[list[object]] = [["발견 위치 / Seen at", "방·게시자 / Room", "시각 / Time"]]
        for sg in it["sightings"]:
            who = " / ".join(x for x in (sg.get("room"), sg.get("poster")) if x) or "—"
            rows.append([sg["path"], who, sg.get("posted_at") or sg.get("seen_at")])
        story.append(table(rows, [0.5 * width, 0.25 * width, 0.25 * width]))
        if it.get("relations"):
            rel: list[list[object]] = [["조작 관계 / Manipulation relation", "차이 그림 / Picture"]]
            for r in it["relations"]:
                picture = r.get("difference_file") or r.get("difference_picture") or "—"
                rel.append([f"{r['ko']} / {r['en']}", picture])
            story.append(table(rel, [0.75 * width, 0.25 * width]))
        story.append(Spacer(1, 3 * mm))
    if m.get("left_out"):
        story.append(Paragraph("제외된 항목 / Items left out", h2))
        lrows: list[list[object]] = [[lo["sha256"], lo["reason"]] for lo in m["left_out"]]
        story.append(table(lrows, [0.45 * width, 0.55 * width]))
    story.append(Paragraph("관리 연속성 기록 / Chain of custody", h2))
    crow: list[list[object]] = [["seq", "시각 / Time", "행위자 / Actor", "행위 / Action", "hash"]]
    for e in custody:
        crow.append([e["seq"], e["at"], e["actor"], e["action"], e["entry_hash"]])
    story.append(
        table(crow, [0.07 * width, 0.23 * width, 0.15 * width, 0.12 * width, 0.43 * width])
    )
    story.append(Paragraph("검증 방법 / How to verify", h2))
    for key in ("verify_sums", "verify_media", "verify_chain"):
        story.append(Paragraph(escape(f"• {TEXT[key + '_ko']}"), base))
        story.append(Paragraph(escape(f"  {TEXT[key + '_en']}"), base))
    story.append(Paragraph("sha256sum -c SHA256SUMS", base))
    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"{TITLE_KO} / {TITLE_EN}",
        author=str(m["created_by"]),
        creator=f"{m['tool']['name']} {m['tool']['version']}",
        # A fixed document id keeps the PDF reproducible from the same manifest.
        invariant=True,
    )
    doc.build(story)


def _preserved(it: dict[str, Any]) -> str:
    if it.get("captured_at"):
        return f"{it['captured_at']} (seq {it['custody_seq']})"
    return f"보존되지 않음 / not preserved: {it.get('not_preserved_reason') or '—'}"
