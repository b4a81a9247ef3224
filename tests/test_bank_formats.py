"""Bank formats round-trip through python-threatexchange itself: its file exchange reads what
haechi writes and haechi reads what it writes; the same for `dataset --csv` and StopNCII's
records; vPDQ frame files and plain PDQ lists; bad lines are named and the rest is read."""

from __future__ import annotations

import csv
import dataclasses
import enum
import io
import json
from pathlib import Path

import dacite
import pytest
from threatexchange.cli.dataset_cmd import DatasetCommand
from threatexchange.exchanges.clients.stopncii.api import (
    StopNCIICaseStatus,
    StopNCIIHashRecord,
    StopNCIISignalType,
)
from threatexchange.exchanges.fetch_state import (
    FetchedSignalMetadata,
    SignalOpinion,
    SignalOpinionCategory,
)
from threatexchange.exchanges.impl.file_api import (
    FileCollaborationConfig,
    LocalFileSignalExchangeAPI,
)
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.sha256 import VideoSHA256Signal

from haechi.errors import InputError
from haechi.services.banks import (
    ContentIn,
    Frame,
    SignalIn,
    add_contents,
    contents,
    create_bank,
)
from haechi.share import formats
from haechi.store.db import Database

PDQS = [
    "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
    "d8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22",
    "0000000000000000000000000000000000000000000000000000000000000000",
]
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
FRAMES = (Frame(PDQS[0], 100, 0.0), Frame(PDQS[1], 92, 1.0), Frame(PDQS[2], 40, 2.5))


@pytest.fixture
def bank(db: Database) -> str:
    create_bank(db, "tester", "SHARED")
    add_contents(
        db,
        "tester",
        "SHARED",
        [
            ContentIn((SignalIn("pdq", PDQS[0]), SignalIn("md5", MD5)), tags=("ncii", "kr")),
            ContentIn((SignalIn("pdq", PDQS[1]), SignalIn("sha256", SHA))),
            ContentIn((SignalIn("vpdq", frames=FRAMES),)),
        ],
        source="test",
    )
    return "SHARED"


TE_TYPES = [PdqSignal, VideoMD5Signal, VideoSHA256Signal]


def test_threatexchange_file_exchange_reads_our_export_and_we_read_its_file(
    db: Database, bank: str, tmp_path: Path
) -> None:
    exported = tmp_path / "bank.txt"
    exported.write_text(formats.write_te(contents(db, bank)))
    api = LocalFileSignalExchangeAPI(FileCollaborationConfig(filename=str(exported), name="x"))
    (delta,) = list(api.fetch_iter(TE_TYPES, None))
    got = set(delta.updates)
    assert {("pdq", PDQS[0]), ("pdq", PDQS[1]), ("video_md5", MD5), ("video_sha256", SHA)} <= got
    (vpdq,) = [v for t, v in got if t == "vpdq"]
    assert json.loads(vpdq) == [
        f"{PDQS[0]},100,0.000",
        f"{PDQS[1]},92,1.000",
        f"{PDQS[2]},40,2.500",
    ]

    # A file as threatexchange's file exchange documents it (its own writer, report_opinion,
    # opens the file with mode "wta" and fails in 1.2.17): it and we read the same signals.
    theirs = tmp_path / "theirs.txt"
    theirs.write_text(f"pdq {PDQS[0]}\npdq {PDQS[1]}\nvideo_md5 {MD5}\n")
    api = LocalFileSignalExchangeAPI(FileCollaborationConfig(filename=str(theirs), name="y"))
    (delta,) = list(api.fetch_iter(TE_TYPES, None))
    assert list(delta.updates) == [("pdq", PDQS[0]), ("pdq", PDQS[1]), ("video_md5", MD5)]
    read = formats.read(theirs)
    assert not read.problems
    assert [(s.signal_type, s.value) for c in read.contents for s in c.signals] == [
        ("pdq", PDQS[0]),
        ("pdq", PDQS[1]),
        ("md5", MD5),
    ]
    # And ours reads back to what the bank holds.
    back = formats.read(exported)
    assert [s for c in back.contents for s in c.signals] == [
        s for c in contents(db, bank) for s in c.signals
    ]


class _Tagged(FetchedSignalMetadata):
    def get_as_opinions(self) -> list[SignalOpinion]:
        return [SignalOpinion(False, SignalOpinionCategory.POSITIVE_CLASS, {"ncii", "kr"})]


def test_dataset_csv_columns_both_ways(db: Database, bank: str, tmp_path: Path) -> None:
    ours = formats.write_csv(contents(db, bank))
    rows = list(csv.DictReader(io.StringIO(ours)))
    assert list(rows[0]) == ["signal_type", "signal_str", "collab", "category", "tags"]
    assert rows[0]["signal_type"] == "pdq" and set(rows[0]["tags"].split()) == {"ncii", "kr"}
    assert rows[0]["collab"] == "SHARED" and rows[0]["category"] == "POSITIVE_CLASS"

    # threatexchange's own CSV printer (`dataset -P --csv`), read by us with its tags.
    buf = io.StringIO()
    w = csv.DictWriter(buf, ["signal_type", "signal_str", "collab", "category", "tags"])
    w.writeheader()
    for h in PDQS[:2]:
        DatasetCommand._print_csv(None, w, "collab A", PdqSignal, h, _Tagged())  # type: ignore[arg-type]
    theirs = tmp_path / "dataset.csv"
    theirs.write_text(buf.getvalue())
    read = formats.read(theirs)
    assert not read.problems and len(read.contents) == 2
    assert set(read.contents[0].tags) == {"ncii", "kr"}
    assert read.contents[1].signals[0].value == PDQS[1]


def test_stopncii_records_parse_with_the_library_and_back(
    db: Database, bank: str, tmp_path: Path
) -> None:
    doc = json.loads(formats.write_stopncii(contents(db, bank)))
    records = [
        dacite.from_dict(
            data_class=StopNCIIHashRecord,
            data=r,
            config=dacite.Config(cast=[enum.Enum, set]),
        )
        for r in doc["hashRecords"]
    ]
    assert {(r.signalType, r.hashValue) for r in records} == {
        (StopNCIISignalType.ImagePDQ, PDQS[0]),
        (StopNCIISignalType.ImagePDQ, PDQS[1]),
        (StopNCIISignalType.VideoMD5, MD5),
    }
    assert all(r.caseNumbers == {} for r in records)  # a victim's case numbers never leave

    # Records as the library holds them, serialised: withdrawn ones are never banked.
    theirs = [dataclasses.asdict(r) for r in records]
    theirs[0]["hashStatus"] = StopNCIICaseStatus.Withdrawn
    text = json.dumps(
        {"hashRecords": theirs}, default=lambda v: v.value if isinstance(v, enum.Enum) else v
    )
    path = tmp_path / "stopncii.json"
    path.write_text(text)
    read = formats.read(path)
    assert read.skipped == 1 and len(read.contents) == 2


def test_vpdq_frame_files_and_plain_pdq_lists(tmp_path: Path) -> None:
    video = tmp_path / "clip.vpdq"
    video.write_text(formats.write_vpdq(FRAMES))
    assert video.read_text().splitlines()[1] == f"1,92,{PDQS[1]},1.000"
    (content,) = formats.read(video).contents
    assert content.signals[0].frames == FRAMES

    listing = tmp_path / "hashes.txt"
    listing.write_text(f"# from a partner\n{PDQS[0]}\nnot-a-hash\n{PDQS[1].upper()}\n")
    read = formats.read(listing)
    assert [c.signals[0].value for c in read.contents] == PDQS[:2]
    assert read.problems == (f"{listing}:3: 'not-a-hash' is not a pdq hash (64 hex characters)",)


def test_a_bad_file_is_named(tmp_path: Path) -> None:
    binary = tmp_path / "x.txt"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match=r"x.txt: not UTF-8"):
        formats.read(binary)
    bad = tmp_path / "te.txt"
    bad.write_text(f"pdq {PDQS[0]}\ntmk abc\npdq 12\n")
    read = formats.read(bad, "te")
    assert len(read.contents) == 1 and len(read.problems) == 2
    assert read.problems[0].startswith(f"{bad}:2: signal type 'tmk'")


def test_import_and_export_through_the_cli(tmp_path: Path) -> None:
    from conftest import run

    home = tmp_path / "h"
    run(home, "init")
    run(home, "banks", "create", "PARTNER")
    listing = tmp_path / "partner.txt"
    listing.write_text(f"pdq {PDQS[0]}\npdq nonsense\nvideo_md5 {MD5}\n")
    done = run(home, "banks", "import", "PARTNER", str(listing), "--tag", "partner-a")
    assert f"{listing}:2:" in done.stderr  # the bad line named, the rest imported
    assert "2 content(s), 2 hash(es) added" in done.stdout
    exported = run(home, "banks", "export", "PARTNER", "--format", "te").stdout
    assert exported == f"pdq {PDQS[0]}\nvideo_md5 {MD5}\n"
    as_csv = run(home, "banks", "export", "PARTNER", "--format", "csv").stdout
    assert "partner-a" in as_csv
    log = run(home, "evidence", "log", "--json").stdout
    assert '"source":"import:partner.txt"' in log.replace(" ", "")
