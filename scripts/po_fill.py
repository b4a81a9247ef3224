"""Fill Korean translations into the catalogue from a JSON object {msgid: msgstr}.

    python scripts/po_fill.py ko.json && make i18n

Prints the messages still untranslated (tests/test_i18n.py fails on any)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parents[1] / "src/haechi/locale/ko/LC_MESSAGES/haechi.po"


def main(path: str) -> None:
    translations = json.loads(Path(path).read_text(encoding="utf-8"))
    with PO.open("rb") as f:
        cat = read_po(f)
    for m in cat:
        # A plural entry (ngettext) is keyed by its singular; Korean has one form.
        key = m.id[0] if isinstance(m.id, tuple) else m.id
        if key and key in translations:
            text = translations[key]
            m.string = (text,) * cat.num_plurals if isinstance(m.id, tuple) else text
            m.flags.discard("fuzzy")
    with PO.open("wb") as f:
        write_po(f, cat, width=0, no_location=True, sort_output=True)
    missing = [m.id for m in cat if m.id and not m.string]
    print("untranslated:", json.dumps(missing, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
