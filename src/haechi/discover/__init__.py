"""Discovery: finding rooms before the victims do. Evasive spellings of search terms
(variants), the Telegram links and names that scanned rooms and pages leave behind (leads),
a deliberate public search with the user's own Telegram session, and the way from a lead to
evidence (a captured public preview)."""
