"""Typed settings. Built by `load_settings()`, never at import time, so tests and the CLI can
point haechi at another data directory without touching the process environment."""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from haechi.errors import ConfigError
from haechi.i18n import _
from haechi.matching import thresholds as defaults

GiB = 1024**3
MiB = 1024**2
# Names read from the environment outside the settings object.
OTHER_ENV_NAMES = frozenset(
    {
        "HAECHI_FAILPOINT",  # crash trials: haechi.failpoints
        "HAECHI_LANG",
        "HAECHI_MODEL_CACHE",
        "HAECHI_TESTDATA",
        "HAECHI_TEST_POSTGRES",
    }
)


class _Section(BaseModel):
    # "inf" and "nan" parse as floats and pass every bound (inf > 0), then break whatever uses
    # them (a timeout of inf fails every file); no setting means either.
    model_config = ConfigDict(allow_inf_nan=False)


class Limits(_Section):
    """Decoding limits. They exist because scanned media is hostile by assumption."""

    max_file_bytes: int = Field(default=4 * GiB, gt=0)
    max_pixels: int = Field(default=100_000_000, gt=0, le=1_000_000_000)
    max_video_seconds: float = Field(default=600.0, gt=0, le=24 * 3600)
    max_video_frames: int = Field(default=600, gt=0, le=20_000)
    frame_max_side: int = Field(default=1280, ge=64, le=8192)
    max_archive_entries: int = Field(default=20_000, gt=0)
    max_archive_bytes: int = Field(default=8 * GiB, gt=0)
    max_archive_ratio: float = Field(default=200.0, gt=1)
    decode_timeout_seconds: float = Field(default=300.0, gt=0, le=24 * 3600)
    # Chat exports (Telegram JSON and HTML). A real message nests 4 levels and is a few KB; the
    # bounds stop a 100 KB file from costing gigabytes (deep nesting, one huge message or string).
    max_export_depth: int = Field(default=32, ge=8, le=10_000)
    max_export_message_bytes: int = Field(default=1 * MiB, ge=4096)
    max_export_string_bytes: int = Field(default=1 * MiB, ge=4096)
    # A WARC record's header block (WARC and HTTP headers); real ones are a few KB.
    max_warc_header_bytes: int = Field(default=1 * MiB, ge=4096)


class Thresholds(_Section):
    """Match thresholds; their defaults, and why, are in haechi.matching.thresholds."""

    pdq_max_distance: int = Field(default=defaults.PDQ_MAX_DISTANCE, ge=0)
    pdq_min_quality: int = Field(default=defaults.PDQ_MIN_QUALITY, ge=0, le=100)
    vpdq_frame_share: float = Field(default=defaults.VPDQ_FRAME_SHARE, gt=0, le=1)
    # A room at or above this chat-text risk is flagged for review (fixed before evaluation;
    # see docs/evaluation/rooms.md). Rooms are always listed in risk order.
    room_risk_flag: float = Field(default=0.5, gt=0, lt=1)
    # Cosine similarity of a face to an enrolled template (calibrated: docs/evaluation/faces.md).
    # Lowering it shows people someone else's pictures.
    face_min_similarity: float = Field(default=defaults.FACE_MIN_SIMILARITY, ge=0.3, le=1)
    # A sexual score at which content posted in chats gets network roles even in a quiet room.
    # Not calibrated (no sexual image may enter the project): set high, so it marks clear cases.
    sexual_interest: float = Field(default=0.8, gt=0, le=1)

    @field_validator("pdq_max_distance")
    @classmethod
    def _pdq_distance_is_safe(cls, v: int) -> int:
        # Beyond ~90 bits unrelated images start to match (random pairs sit near 128).
        if v > defaults.PDQ_MAX_SAFE_DISTANCE:
            raise ValueError("a PDQ distance above 90 of 256 bits matches unrelated images")
        return v


class Capture(_Section):
    """`haechi capture`: the only place besides live Telegram where haechi uses the network, and
    only because a person asked it to fetch these URLs."""

    user_agent: str = Field(
        default="haechi/0.1 (evidence capture for victim support; read-only)", min_length=1
    )
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # Whole-time bounds: a server that sends a byte just before every read timeout would
    # otherwise hold one resource, and the capture, for ever. What was fetched is kept.
    resource_deadline_seconds: float = Field(default=120.0, gt=0, le=24 * 3600)
    deadline_seconds: float = Field(default=300.0, gt=0, le=24 * 3600)
    max_page_bytes: int = Field(default=20 * MiB, gt=0)
    # Also the bound on a WARC record read into memory when a WARC is scanned.
    max_media_bytes: int = Field(default=256 * MiB, gt=0)
    max_media_per_page: int = Field(default=200, ge=0, le=10_000)
    max_redirects: int = Field(default=5, ge=0, le=20)
    # A page must not be able to steer haechi at the machine's own network (routers, admin
    # pages, cloud metadata). Only tests and deliberate local setups turn this on.
    allow_private: bool = False


class Telegram(_Section):
    """`haechi watch telegram`: a user session that only reads (see docs/telegram-live.md)."""

    api_id: int | None = Field(default=None, gt=0)
    api_hash: SecretStr | None = None
    # Relative paths live inside the data directory; Telethon adds ".session".
    session: Path = Path("telegram/haechi")
    # Chat ids (-100…), @usernames or t.me links.
    chats: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_media_bytes: int = Field(default=256 * MiB, gt=0)
    # Telegram asks clients to wait (FLOOD_WAIT); a wait longer than this stops the watcher
    # instead of sleeping for hours.
    max_flood_wait_seconds: int = Field(default=3600, ge=0)
    reconnect_max_seconds: float = Field(default=300.0, gt=0)

    @field_validator("chats", mode="before")
    @classmethod
    def _chats_from_text(cls, v: Any) -> Any:
        # HAECHI_TELEGRAM__CHATS='@a,-1001234' or a JSON list.
        if isinstance(v, str):
            text = v.strip()
            if text.startswith("["):
                return [str(c) for c in json.loads(text)]
            return [c.strip() for c in text.split(",") if c.strip()]
        if isinstance(v, list):
            return [str(c) for c in v]
        return v


class VaultSettings(_Section):
    """The evidence vault's key and the optional timestamp authority.

    The key is a 0600 file (made by `haechi init`) or, instead, derived from a passphrase
    (HAECHI_VAULT__PASSPHRASE). Keep the key file off the disk that holds the vault when you
    can: a key beside the ciphertext protects against little."""

    key_file: Path | None = None  # default: <home>/keys/vault.key
    passphrase: SecretStr | None = None
    tsa_url: str | None = None
    tsa_cert: Path | None = None  # the TSA's signing certificate (PEM or DER), pinned
    chunk_size: int = Field(default=1 * MiB, ge=4096, le=64 * MiB)
    # A new finding preserves its item in the vault at once (custody from the first moment).
    capture_findings: bool = True

    @field_validator("tsa_url")
    @classmethod
    def _tsa_is_http(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("tsa_url must be an http:// or https:// URL")
        return v

    @model_validator(mode="after")
    def _tsa_needs_cert(self) -> VaultSettings:
        if self.tsa_url and self.tsa_cert is None:
            raise ValueError("tsa_url needs tsa_cert: the TSA's certificate, to check its tokens")
        return self


class Judge(_Section):
    """Sexual-content triage and synthetic-media evidence (analyzers nudity and synthetic)."""

    # An ONNX model keeping the contract in docs/synthetic.md; None: no trained detector.
    detector_model: Path | None = None
    detector_threshold: float = Field(default=0.5, gt=0, lt=1)
    # Forensic face cues cost a face detection per image; a centre may turn them off.
    forensics: bool = True

    @field_validator("detector_model")
    @classmethod
    def _model_exists(cls, v: Path | None) -> Path | None:
        if v is not None and not v.expanduser().is_file():
            raise ValueError(f"no detector model at {v}")
        return v.expanduser().resolve() if v is not None else None


class Takedown(_Section):
    """Takedown requests: the platform directory, who signs the requests, and the SMTP server
    `haechi takedown send` uses (none: the counsellor sends the .eml files herself)."""

    # A centre's own platform directory (same YAML shape as data/platforms.yaml): its entries
    # override the package's by id, field by field, or add new ones.
    platforms_file: Path | None = None
    organisation: str = Field(default="", max_length=200)
    sender: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, gt=0, lt=65536)
    smtp_starttls: bool = True
    smtp_user: str | None = None
    # A 0600 file holding the password, so that it is in no environment or command line.
    smtp_password_file: Path | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=600)

    @model_validator(mode="after")
    def _smtp_is_whole(self) -> Takedown:
        if self.smtp_host and not self.sender:
            raise ValueError("smtp_host needs sender: the address the requests come from")
        if self.smtp_user and self.smtp_password_file is None:
            raise ValueError("smtp_user needs smtp_password_file")
        return self


class Web(_Section):
    """`haechi serve`: sessions, cookies and login throttling for the web app and API."""

    # Cookies carry the Secure flag: browsers then send them only over HTTPS (put TLS in front,
    # see docs/web.md). Only a loopback test over plain http turns this off.
    secure_cookies: bool = True
    # A session ends after this long without a request, and in any case after session_hours.
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_hours: int = Field(default=12, ge=1, le=24 * 7)
    # Failed logins for one account from one address before it must wait lock_minutes.
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_lock_minutes: int = Field(default=15, ge=1, le=24 * 60)


class Settings(BaseSettings):
    """Everything configurable. Environment variables use the HAECHI_ prefix
    (nested with a double underscore: HAECHI_LIMITS__MAX_PIXELS)."""

    model_config = SettingsConfigDict(
        env_prefix="HAECHI_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
    )

    home: Path = Path("./haechi-data")
    database_url: str | None = None
    # Only these file analyzers run (e.g. '["pdq"]' for a quick hash-only pass; hashes always
    # run). None: every installed analyzer.
    analyzers: list[str] | None = None
    workers: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1), ge=1, le=256)
    # Files a scan holds between its source and its writer at most (read ahead, being analysed,
    # waiting for the one before them): a scan's memory does not grow with the source's size.
    # None: four per worker.
    in_flight: int | None = Field(default=None, ge=1, le=100_000)
    limits: Limits = Field(default_factory=Limits)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    capture: Capture = Field(default_factory=Capture)
    telegram: Telegram = Field(default_factory=Telegram)
    vault: VaultSettings = Field(default_factory=VaultSettings)
    # Who the custody log names for actions taken from this process (default: the OS user).
    actor: str | None = Field(default=None, min_length=1, max_length=200)
    # Extra chat-text lexicon files (same YAML shape as analyzers/data/lexicon.yaml), e.g. a
    # support centre's own terms: HAECHI_CHAT_LEXICONS='["/path/terms.yaml"]'.
    chat_lexicons: list[Path] = Field(default_factory=list)
    judge: Judge = Field(default_factory=Judge)
    takedown: Takedown = Field(default_factory=Takedown)
    web: Web = Field(default_factory=Web)

    @field_validator("home", mode="before")
    @classmethod
    def _home_is_named(cls, v: Any) -> Any:
        # An empty HAECHI_HOME would otherwise mean the current directory, silently.
        if isinstance(v, str | Path) and not str(v).strip():
            raise ValueError("is empty; name the data directory (or unset HAECHI_HOME)")
        return v

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
        """The data directory, with ~ expanded and made absolute."""
        return self.home.expanduser().resolve()

    @property
    def captures_dir(self) -> Path:
        """Where captured pages (WARCs) are kept: HOME/captures."""
        return self.home_dir / "captures"

    @property
    def telegram_session(self) -> Path:
        """The Telethon session file; a relative setting is taken inside the data directory."""
        session = self.telegram.session.expanduser()
        return session if session.is_absolute() else self.home_dir / session

    @property
    def vault_dir(self) -> Path:
        """The evidence vault's folder: HOME/vault."""
        return self.home_dir / "vault"

    @property
    def vault_key_file(self) -> Path:
        """The vault key file: `vault.key_file` when set, else HOME/keys/vault.key (never inside the
        vault folder; the settings refuse that)."""
        if self.vault.key_file is not None:
            return self.vault.key_file.expanduser().resolve()
        return self.home_dir / "keys" / "vault.key"

    @model_validator(mode="after")
    def _key_not_in_vault(self) -> Settings:
        if self.vault_key_file.is_relative_to(self.vault_dir):
            raise ValueError("vault.key_file must not be inside the vault folder")
        return self

    @property
    def db_url(self) -> str:
        """The database URL: `database_url` when set, else SQLite at HOME/haechi.db."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home_dir / 'haechi.db'}"


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment plus explicit overrides; unsafe values become a
    ConfigError that names the setting."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)
    except SettingsError as exc:
        # pydantic-settings could not parse a JSON value ("error parsing value for field
        # "chat_lexicons" from source ..."); name the variable a person would have set.
        m = re.search(r'field "([^"]+)"', str(exc))
        name = f"HAECHI_{m.group(1).upper()}" if m else "a HAECHI_ variable"
        raise ConfigError(
            _("invalid settings: {name} is not valid JSON (e.g. '[\"/path/terms.yaml\"]')").format(
                name=name
            )
        ) from None
    except ValidationError as exc:
        problems = "; ".join(f"{_setting_name(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(_("invalid settings: {problems}").format(problems=problems)) from None


def _setting_name(loc: tuple[int | str, ...]) -> str:
    """A setting as a person set it: its dotted name and its environment variable."""
    parts = [str(p) for p in loc if isinstance(p, str)]
    if not parts:
        return "settings"
    return f"{'.'.join(parts)} (HAECHI_{'__'.join(parts[:2]).upper()})"


def known_env_names() -> frozenset[str]:
    """Every HAECHI_ variable haechi reads: each setting, and each field of a nested one."""
    names = set(OTHER_ENV_NAMES)
    for field, info in Settings.model_fields.items():
        names.add(f"HAECHI_{field.upper()}")
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            names.update(
                f"HAECHI_{field.upper()}__{sub.upper()}" for sub in info.annotation.model_fields
            )
    return frozenset(names)


def unknown_env_names(environ: Mapping[str, str]) -> list[str]:
    """A warning for each HAECHI_ variable that no setting reads (a misspelling is otherwise
    ignored in silence, and the setting keeps its default), with the likely intended name."""
    known = known_env_names()
    warnings = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith("HAECHI_") or upper in known:
            continue
        close = difflib.get_close_matches(upper, known, n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}?)" if close else ""
        warnings.append(f"{name} is not a haechi setting{hint}; it is ignored")
    return warnings
