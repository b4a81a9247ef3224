"""Hash banks: create them, add hashes with their provenance (a case's confirmed items in one
step, an imported list, an API call), set thresholds, rollout and negative banks.

Every change to a bank's contents is an entry in the custody log (counts and hashes only: a
bank holds no media and nothing about a face). Matching against banks is in
`haechi.matching.banks`; file formats in `haechi.share.formats`."""

from __future__ import annotations

from haechi.services.banks.catalogue import (
    create_bank,
    delete_bank,
    get_bank,
    list_banks,
    update_bank,
)
from haechi.services.banks.contents import (
    add_case,
    add_contents,
    contents,
    delete_content,
    get_content,
    item_bank_signals,
    item_signals,
    record_feedback,
    set_content_enabled,
)
from haechi.services.banks.model import (
    HEX,
    HEX_LEN,
    NAME_RE,
    THRESHOLD_KEYS,
    AddResult,
    BankView,
    ContentIn,
    ContentView,
    Frame,
    SignalIn,
    check_name,
    check_signal,
    check_thresholds,
    signal_text,
    vpdq_value,
)

# The package's public interface: the CLI, the REST API (`share.hma_api`, which reads it as
# `banks.X`) and the file formats import from here.
__all__ = [
    "HEX",
    "HEX_LEN",
    "NAME_RE",
    "THRESHOLD_KEYS",
    "AddResult",
    "BankView",
    "ContentIn",
    "ContentView",
    "Frame",
    "SignalIn",
    "add_case",
    "add_contents",
    "check_name",
    "check_signal",
    "check_thresholds",
    "contents",
    "create_bank",
    "delete_bank",
    "delete_content",
    "get_bank",
    "get_content",
    "item_bank_signals",
    "item_signals",
    "list_banks",
    "record_feedback",
    "set_content_enabled",
    "signal_text",
    "update_bank",
    "vpdq_value",
]
