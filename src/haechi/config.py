"""Typed settings. Built by `load_settings()`, never at import time, so tests and the CLI can
point haechi at another data directory without touching the process environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from haechi.errors import ConfigError

GiB = 1024**3
MiB = 1024**2


class Limits(BaseModel):
    """Decoding limits. They exist because scanned media is hostile by assumption."""

    max_file_bytes: int = Field(default=4 * GiB, gt=0)
    max_pixels: int = Field(default=100_000_000, gt=0, le=1_000_000_000)
    max_video_seconds: float = Field(default=600.0, gt=0, le=24 * 3600)
    max_video_frames: int = Field(default=600, gt=0, le=20_000)
    frame_max_side: int = Field(default=1280, ge=64, le=8192)
    max_archive_entries: int = Field(default=20_000, gt=0)
    max_archive_bytes: int = Field(default=8 * GiB, gt=0)
    max_archive_ratio: float = Field(default=200.0, gt=1)
    decode_timeout_seconds: float = Field(default=300.0, gt=0)


class Thresholds(BaseModel):
    """Match thresholds. PDQ values follow Meta's published guidance (see FIELD-NOTES)."""

    pdq_max_distance: int = Field(default=31, ge=0)
    pdq_min_quality: int = Field(default=50, ge=0, le=100)
    vpdq_frame_share: float = Field(default=0.8, gt=0, le=1)
    # Cosine similarity of a face to an enrolled template; calibrated on ../shared/testdata/faces
    # (docs/evaluation/faces.md). Lowering it shows people someone else's pictures.
    face_min_similarity: float = Field(default=0.45, ge=0.3, le=1)

    @field_validator("pdq_max_distance")
    @classmethod
    def _pdq_distance_is_safe(cls, v: int) -> int:
        # Beyond ~90 bits unrelated images start to match (random pairs sit near 128).
        if v > 90:
            raise ValueError("a PDQ distance above 90 of 256 bits matches unrelated images")
        return v


class Settings(BaseSettings):
    """Everything configurable. Environment variables use the HAECHI_ prefix
    (nested with a double underscore: HAECHI_LIMITS__MAX_PIXELS)."""

    model_config = SettingsConfigDict(
        env_prefix="HAECHI_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    home: Path = Path("./haechi-data")
    database_url: str | None = None
    workers: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1), ge=1, le=256)
    limits: Limits = Field(default_factory=Limits)
    thresholds: Thresholds = Field(default_factory=Thresholds)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not v.startswith(("sqlite:", "sqlite+", "postgresql:", "postgresql+")):
            raise ValueError("database_url must be an sqlite:// or postgresql:// URL")
        return v

    @model_validator(mode="after")
    def _home_is_not_root(self) -> Settings:
        if self.home.expanduser().resolve() == Path("/"):
            raise ValueError("home must not be the filesystem root")
        return self

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home_dir / 'haechi.db'}"


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment plus explicit overrides; unsafe values become a
    ConfigError that names the setting."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None
