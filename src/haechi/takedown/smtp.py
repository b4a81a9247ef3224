"""Sending an approved request's .eml through the SMTP server named in settings: the only place
a takedown request leaves the machine, and only because a person ran `takedown send`."""

from __future__ import annotations

import os
import smtplib
import ssl
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

from haechi.config import Settings
from haechi.errors import ConfigError, InputError
from haechi.i18n import _


def read_eml(path: Path) -> EmailMessage:
    """The drafted .eml as an EmailMessage; raises InputError naming the file when it cannot
    be read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            _("{path}: cannot read the drafted e-mail ({strerror})").format(
                path=path, strerror=exc.strerror
            )
        ) from None
    msg = message_from_bytes(data, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    return msg


def _password(settings: Settings) -> str | None:
    path = settings.takedown.smtp_password_file
    if path is None:
        return None
    path = path.expanduser()
    try:
        if os.name == "posix" and path.stat().st_mode & 0o077:
            raise ConfigError(
                _(
                    "{path}: the SMTP password file can be read by other users; "
                    "fix it with: chmod 600 '{path}'"
                ).format(path=path)
            )
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeError) as exc:
        raise ConfigError(
            _("{path}: cannot read the SMTP password file ({exc})").format(path=path, exc=exc)
        ) from None


def send_message(settings: Settings, msg: EmailMessage) -> str:
    """Hand `msg` to the configured server; returns the server's host:port for the record."""
    cfg = settings.takedown
    if not cfg.smtp_host:
        raise ConfigError(
            _(
                "no SMTP server is configured (takedown.smtp_host, "
                "HAECHI_TAKEDOWN__SMTP_HOST): send the .eml yourself, then "
                "`haechi takedown mark ID sent`"
            )
        )
    if not msg["To"]:
        raise InputError(_("the e-mail has no To: address; write the platform's address into it"))
    if cfg.sender:
        del msg["From"]
        msg["From"] = cfg.sender if not cfg.organisation else f"{cfg.organisation} <{cfg.sender}>"
    password = _password(settings)
    where = f"{cfg.smtp_host}:{cfg.smtp_port}"
    try:
        with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.smtp_timeout_seconds) as smtp:
            if cfg.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if cfg.smtp_user:
                smtp.login(cfg.smtp_user, password or "")
            refused = smtp.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        raise InputError(
            _("{where}: the e-mail was not sent ({exc})").format(where=where, exc=exc)
        ) from None
    if refused:
        raise InputError(
            _("{where}: the server refused {refused}").format(
                where=where, refused=", ".join(refused)
            )
        )
    return where
