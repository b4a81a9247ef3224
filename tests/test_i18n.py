"""Korean and English: every message wrapped in `_()` has a Korean translation, the shipped
catalogue is compiled from the .po, placeholders survive translation, and the CLI speaks
Korean when asked (`HAECHI_LANG=ko`) or when the locale says so."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from conftest import haechi

SRC = Path(__file__).resolve().parents[1] / "src" / "haechi"
PO = SRC / "locale" / "ko" / "LC_MESSAGES" / "haechi.po"
MO = PO.with_suffix(".mo")
FIELD = re.compile(r"\{[^{}]*\}")


def _extracted() -> dict[str, str]:
    """msgid -> where, for every _() / ngettext() in the code (Babel's own extractor)."""
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _ctx in extract_from_dir(
        str(SRC), method_map=[("**.py", "python")]
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def _catalogue() -> dict[str, str | tuple[str, ...]]:
    with PO.open("rb") as f:
        cat = read_po(f)
    out: dict[str, str | tuple[str, ...]] = {}
    for m in cat:
        if not m.id or m.fuzzy:
            continue
        ids = tuple(m.id) if isinstance(m.id, (tuple, list)) else (m.id,)
        for i in ids:
            out[i] = tuple(m.string) if isinstance(m.string, (tuple, list)) else str(m.string)
    return out


def test_every_message_has_a_korean_translation() -> None:
    found = _extracted()
    assert len(found) >= 2
    cat = _catalogue()
    missing = [f"{where}: {msgid!r}" for msgid, where in found.items() if not cat.get(msgid)]
    assert not missing, "untranslated (run `make i18n`, translate in haechi.po):\n" + "\n".join(
        missing
    )


def test_placeholders_survive_translation() -> None:
    for msgid, msgstr in _catalogue().items():
        strings = msgstr if isinstance(msgstr, tuple) else (msgstr,)
        for s in strings:
            if s:
                assert sorted(FIELD.findall(s)) == sorted(FIELD.findall(msgid)), (msgid, s)


def test_the_shipped_catalogue_is_compiled_from_the_po() -> None:
    with MO.open("rb") as f:
        mo = gettext.GNUTranslations(f)
    for msgid, msgstr in _catalogue().items():
        if isinstance(msgstr, str) and msgstr:
            assert mo.gettext(msgid) == msgstr, f"stale {MO.name}: run `make i18n`"


def test_the_cli_speaks_korean_when_asked(tmp_path: Path) -> None:
    english = haechi(tmp_path / "h", "show", "abc", check=False, env={"HAECHI_LANG": "en"})
    korean = haechi(tmp_path / "h", "show", "abc", check=False, env={"HAECHI_LANG": "ko"})
    assert english.stderr.startswith("error:")
    assert korean.stderr.startswith("오류:")
    by_locale = haechi(
        tmp_path / "h",
        "show",
        "abc",
        check=False,
        env={
            "HAECHI_LANG": "",
            "LANGUAGE": "",
            "LC_ALL": "",
            "LC_MESSAGES": "",
            "LANG": "ko_KR.UTF-8",
        },
    )
    assert by_locale.stderr.startswith("오류:")
