"""Where `tools-server login` keeps its token: the OS keyring (the `keyring` library: macOS Keychain, Windows
Credential Locker, the Secret Service on Linux), or, where no keyring exists (a server, a container, CI), a file only
its owner can read, and the user is told which.

One login at a time: the record holds what the token needs later (refreshing it, revoking it, naming the account).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

SERVICE = "tools-server"
USERNAME = "todoist-login"


class Credential(BaseModel):
    """A stored login. ``expires_at`` is seconds since the epoch (None: the token does not expire)."""

    version: int = 1
    issuer: str
    token_endpoint: str
    revocation_endpoint: str | None = None
    client_id: str
    client_secret: str | None = None
    auth_method: str = "client_secret_basic"
    access_token: str
    refresh_token: str | None = None
    expires_at: float | None = None
    scope: str = ""
    account: str = ""
    # Keys the account's state (mirror, cursors, undo records) in place of the token, which changes every hour. Made
    # once per login, never sent anywhere.
    state_key: str = Field(default_factory=lambda: secrets.token_hex(32))


@dataclass(frozen=True)
class Place:
    """Where a credential is (or would be) kept: ``file`` None = the OS keyring."""

    file: Path | None

    def describe(self) -> str:
        if self.file is None:
            return "the system keyring"
        return f"{self.file} (readable by you only: no system keyring was found)"


def login_file(env: Mapping[str, str]) -> Path:
    base = Path(env.get("XDG_CONFIG_HOME") or Path(env.get("HOME") or Path.home()) / ".config")
    return base / "tools-server" / "login.json"


def _keyring_usable() -> bool:
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    # The chainer with no backend behind it, or the explicit "no keyring" backend, stores nothing.
    return not isinstance(backend, fail.Keyring) and getattr(backend, "priority", 1) > 0


def load(env: Mapping[str, str]) -> tuple[Credential, Place] | None:
    """The stored login, or None. A record that cannot be read counts as none (the user logs in again)."""
    path = login_file(env)
    text: str | None = None
    place = Place(None)
    if _keyring_usable():
        import keyring
        from keyring.errors import KeyringError

        try:
            text = keyring.get_password(SERVICE, USERNAME)
        except KeyringError:
            text = None
    if text is None and path.exists():
        text, place = path.read_text(encoding="utf-8"), Place(path)
    if text is None:
        return None
    try:
        return Credential.model_validate_json(text), place
    except ValidationError:
        return None


def save(env: Mapping[str, str], credential: Credential) -> Place:
    """Keep ``credential`` in the keyring, else in the owner-only file; returns where."""
    text = credential.model_dump_json()
    if _keyring_usable():
        import keyring
        from keyring.errors import KeyringError

        try:
            keyring.set_password(SERVICE, USERNAME, text)
            return Place(None)
        except KeyringError:
            pass  # e.g. a locked keyring with no one to unlock it: the file below, and the user is told
    path = login_file(env)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Created 0600 before a byte is written (a chmod afterwards would leave a window); replaced atomically.
    temporary = path.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)
    return Place(path)


def forget(env: Mapping[str, str]) -> None:
    if _keyring_usable():
        import keyring
        from keyring.errors import KeyringError, PasswordDeleteError

        with contextlib.suppress(PasswordDeleteError, KeyringError):  # nothing stored there
            keyring.delete_password(SERVICE, USERNAME)
    login_file(env).unlink(missing_ok=True)
