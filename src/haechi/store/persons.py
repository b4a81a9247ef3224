"""Enrolled persons and what they consented to: consent records, face templates (never photos)
and hashes of their own media. Everything here is removed by `haechi forget`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from haechi.store.models import Base, utcnow


class Person(Base):
    """One row: an enrolled person under a chosen alias; her consents, templates and own-media
    hashes go with her."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # A name chosen for the record, not necessarily the person's real name.
    alias: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    consents: Mapped[list[ConsentRecord]] = relationship(
        back_populates="person", cascade="all, delete-orphan", passive_deletes=True
    )
    templates: Mapped[list[FaceTemplate]] = relationship(
        back_populates="person", cascade="all, delete-orphan", passive_deletes=True
    )
    own_media: Mapped[list[OwnMediaHash]] = relationship(
        back_populates="person", cascade="all, delete-orphan", passive_deletes=True
    )


class ConsentRecord(Base):
    """Who consented, for whom, when, to what, and how that was checked."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    consented_by: Mapped[str] = mapped_column(String(256))
    for_whom: Mapped[str] = mapped_column(String(256))
    scope: Mapped[str] = mapped_column(String(256))
    verified_how: Mapped[str] = mapped_column(String(512))
    given_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(back_populates="consents")


class FaceTemplate(Base):
    """One embedding of an enrolment photo. The photo itself is never stored."""

    __tablename__ = "face_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # little-endian float32, L2-normalised
    model: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(128))
    quality: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(back_populates="templates")


class OwnMediaHash(Base):
    """Hashes of an image or video the person fears is shared (StopNCII style): MD5 and PDQ,
    per frame for video. The file is read once and not kept."""

    __tablename__ = "own_media_hashes"
    __table_args__ = (UniqueConstraint("person_id", "md5", name="uq_own_media_person_md5"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    md5: Mapped[str] = mapped_column(String(32), index=True)
    pdq: Mapped[dict[str, Any]] = mapped_column()  # {"hashes": [[hex, quality, t], ...]}
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(back_populates="own_media")
