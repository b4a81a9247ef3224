"""Fill Korean translations into the catalogue from a JSON object {msgid: msgstr}: `python scripts/po_fill.py ko.json`, then `make i18n`."""

import json
import sys

from babel.messages.pofile import read_po, write_po

p = "src/haechi/locale/ko/LC_MESSAGES/haechi.po"
tr = json.load(open(sys.argv[1]))
with open(p, "rb") as f:
    cat = read_po(f)
for m in cat:
    if m.id and m.id in tr:
        m.string = tr[m.id]
        m.flags.discard("fuzzy")
with open(p, "wb") as f:
    write_po(f, cat, width=0, omit_header=False, no_location=True, sort_output=True)
missing = [m.id for m in cat if m.id and not m.string]
print("missing:", missing)
