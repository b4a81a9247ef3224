"""The index of enrolled face templates, and the one way to query it.

There is deliberately no general face search: the index holds only templates of enrolled persons
(each with a consent record) and is built only from the database; a query returns enrolled
persons whose template a face resembles, never other faces. Nothing here can index or search the
faces found in scanned media.

The index lives beside the database (`<home>/indexes/face-templates.*`), is rebuilt from the
database when missing or stale (its fingerprint is the list of template ids and the model
version), and is rewritten whole after a forget so no removed template stays in it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from haechi.analyzers.face_calibration import MODEL_VERSION
from haechi.config import Settings
from haechi.private import private_dir, private_file
from haechi.store.persons import FaceTemplate

if TYPE_CHECKING:
    import faiss

Vectors = npt.NDArray[np.float32]
DIM = 128
# Up to this many templates the index is exact (a flat inner-product scan is microseconds);
# above it, HNSW (benchmarks/bench_faces.py measures recall@1 against the exact answer).
EXACT_UP_TO = 20_000
HNSW_M = 32
HNSW_EF_SEARCH = 128


@dataclass(frozen=True)
class TemplateHit:
    """One enrolled template close to a face: its person, template id and cosine similarity (inner
    product of unit vectors)."""

    person_id: int
    template_id: int
    similarity: float


def template_vector(blob: bytes) -> Vectors:
    """A stored template's embedding (little-endian float32, already L2-normalised) as a float32
    vector."""
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def _fingerprint(rows: list[tuple[int, int]], model_version: str) -> str:
    h = hashlib.sha256(model_version.encode())
    for tid, pid in rows:
        h.update(f"{tid}:{pid};".encode())
    return h.hexdigest()


class TemplateIndex:
    """Enrolled templates only. Build it with `load` (or `for_person`), query with `search`."""

    def __init__(self, index: faiss.Index | None, template_ids: npt.NDArray[np.int64],
                 person_ids: npt.NDArray[np.int64], fingerprint: str) -> None:  # fmt: skip
        self._index = index  # None: nobody is enrolled
        self._template_ids = template_ids
        self._person_ids = person_ids
        self.fingerprint = fingerprint

    def __len__(self) -> int:
        return 0 if self._index is None else int(self._index.ntotal)

    @classmethod
    def load(
        cls, session: Session, settings: Settings, cached: TemplateIndex | None = None
    ) -> TemplateIndex:
        """The index of every enrolled template: `cached` or the file on disk when current,
        else rebuilt from the database and written back."""
        rows = [
            (int(t), int(p))
            for t, p in session.execute(
                select(FaceTemplate.id, FaceTemplate.person_id)
                .where(FaceTemplate.model_version == MODEL_VERSION)
                .order_by(FaceTemplate.id)
            )
        ]
        fp = _fingerprint(rows, MODEL_VERSION)
        if cached is not None and cached.fingerprint == fp:
            return cached
        paths = index_paths(settings)
        if not rows:
            # Nobody enrolled: nothing to search, and no file may keep a removed template.
            for p in paths:
                p.unlink(missing_ok=True)
            none = np.zeros(0, np.int64)
            return cls(None, none, none, fp)
        cached = cls._read(paths, fp)
        if cached is not None:
            return cached
        built = cls._build(session, None)
        built._write(paths)
        return built

    @classmethod
    def for_person(cls, session: Session, person_id: int) -> TemplateIndex:
        """An in-memory index of one person's templates (matching a new enrolment against
        faces already stored)."""
        return cls._build(session, person_id)

    @classmethod
    def _build(cls, session: Session, person_id: int | None) -> TemplateIndex:
        q = (
            select(FaceTemplate.id, FaceTemplate.person_id, FaceTemplate.embedding)
            .where(FaceTemplate.model_version == MODEL_VERSION)
            .order_by(FaceTemplate.id)
        )
        if person_id is not None:
            q = q.where(FaceTemplate.person_id == person_id)
        rows = list(session.execute(q))
        vecs = np.zeros((len(rows), DIM), np.float32)
        for i, (_, _, blob) in enumerate(rows):
            vecs[i] = template_vector(blob)
        tids = np.array([r[0] for r in rows], np.int64)
        pids = np.array([r[1] for r in rows], np.int64)
        fp = _fingerprint(
            [(int(t), int(p)) for t, p in zip(tids, pids, strict=True)], MODEL_VERSION
        )
        return cls(_make_index(vecs), tids, pids, fp)

    def search(self, faces: Vectors, threshold: float, k: int = 8) -> list[list[TemplateHit]]:
        """For each face (rows of L2-normalised embeddings found in media), the enrolled
        persons whose best template reaches `threshold`, best first, one hit per person."""
        n = len(faces)
        if n == 0 or len(self) == 0:
            return [[] for _ in range(n)]
        assert self._index is not None
        q = np.ascontiguousarray(faces, dtype=np.float32).reshape(n, DIM)
        sims, idx = self._index.search(q, min(k, len(self)))
        out: list[list[TemplateHit]] = []
        for srow, irow in zip(sims, idx, strict=True):
            best: dict[int, TemplateHit] = {}
            for s, i in zip(srow, irow, strict=True):
                if i < 0 or s < threshold:
                    continue
                pid = int(self._person_ids[i])
                if pid not in best or s > best[pid].similarity:
                    best[pid] = TemplateHit(pid, int(self._template_ids[i]), float(s))
            out.append(sorted(best.values(), key=lambda h: -h.similarity))
        return out

    # -- files ---------------------------------------------------------------

    @classmethod
    def _read(cls, paths: tuple[Path, Path], fingerprint: str) -> TemplateIndex | None:
        index_file, meta_file = paths
        try:
            meta = json.loads(meta_file.read_text())
            if meta.get("fingerprint") != fingerprint:
                return None
            import faiss  # only once someone is enrolled

            index = faiss.read_index(str(index_file))
        except (OSError, ValueError, RuntimeError):
            return None  # missing or damaged: rebuilt from the database
        tids = np.array(meta["template_ids"], np.int64)
        pids = np.array(meta["person_ids"], np.int64)
        if index.ntotal != len(tids):
            return None
        return cls(index, tids, pids, fingerprint)

    def _write(self, paths: tuple[Path, Path]) -> None:
        index_file, meta_file = paths
        private_dir(index_file.parent)
        meta = {
            "fingerprint": self.fingerprint,
            "model_version": MODEL_VERSION,
            "template_ids": self._template_ids.tolist(),
            "person_ids": self._person_ids.tolist(),
        }
        tmp_index = index_file.with_suffix(".tmp")
        import faiss

        assert self._index is not None, "an empty index is never written"

        faiss.write_index(self._index, str(tmp_index))
        private_file(tmp_index).replace(index_file)  # faiss creates it with the umask's mode
        tmp_meta = meta_file.with_suffix(".tmp")
        tmp_meta.write_text(json.dumps(meta))
        private_file(tmp_meta).replace(meta_file)


def index_paths(settings: Settings) -> tuple[Path, Path]:
    """Where the persistent face-template index lives: the faiss file and its metadata JSON under
    HOME/indexes."""
    folder = settings.home_dir / "indexes"
    return folder / "face-templates.faiss", folder / "face-templates.json"


def rewrite_index(session: Session, settings: Settings) -> None:
    """Write the index afresh from the database (after a forget: the old file is replaced,
    so the removed templates are in no index file)."""
    paths = index_paths(settings)
    for p in paths:
        p.unlink(missing_ok=True)
    TemplateIndex._build(session, None)._write(paths)


def _make_index(vecs: Vectors) -> faiss.Index:
    import faiss

    index: faiss.Index
    if len(vecs) > EXACT_UP_TO:
        index = faiss.IndexHNSWFlat(DIM, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(DIM)
    if len(vecs):
        index.add(np.ascontiguousarray(vecs))
    return index
