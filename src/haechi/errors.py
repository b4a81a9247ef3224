"""The one exception hierarchy. The CLI maps each class to an exit code; the API to a problem."""

from __future__ import annotations

from pathlib import Path


class HaechiError(Exception):
    """Base of every error haechi raises on purpose; its message is meant for a person."""

    exit_code = 1


class ConfigError(HaechiError):
    """A setting is missing, malformed or unsafe."""

    exit_code = 2


class InputError(HaechiError):
    """Something a person pointed haechi at cannot be used."""

    exit_code = 3


class MediaError(InputError):
    """One media file cannot be decoded safely. Always names the file and the reason."""

    def __init__(self, file: str | Path, reason: str) -> None:
        self.file = str(file)
        self.reason = reason
        super().__init__(f"{self.file}: {reason}")


class SourceError(InputError):
    """A source (folder, archive, export) cannot be read, or one entry in it is refused."""

    def __init__(self, file: str | Path, reason: str) -> None:
        self.file = str(file)
        self.reason = reason
        super().__init__(f"{self.file}: {reason}")


class StoreError(HaechiError):
    """The database or data directory is unusable."""

    exit_code = 4


class IntegrityError(HaechiError):
    """Stored data does not verify: something was altered, lost or forged."""

    exit_code = 5


class NotFoundError(HaechiError):
    """A thing named by a person does not exist (an item, a case, a person)."""

    exit_code = 6


class AccessError(HaechiError):
    """A login failed, a session ended, or an account may not do what it asked."""

    exit_code = 7


class ThrottledError(AccessError):
    """Too many failed logins for one account from one address: wait, then try again."""

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)
