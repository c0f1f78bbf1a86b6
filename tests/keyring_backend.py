"""A keyring backend for tests (PYTHON_KEYRING_BACKEND=tests.keyring_backend.FileKeyring): what a system keyring
does for `tools-server login`, kept in $HOME/test-keyring.json so separate processes share it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


def _path() -> Path:
    return Path(os.environ["HOME"]) / "test-keyring.json"


def entries() -> dict[str, str]:
    path = _path()
    loaded: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    return loaded


class FileKeyring(KeyringBackend):
    priority = 1  # pyright: ignore[reportAssignmentType]

    def get_password(self, service: str, username: str) -> str | None:
        return entries().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        _path().write_text(json.dumps({**entries(), f"{service}/{username}": password}))

    def delete_password(self, service: str, username: str) -> None:
        stored = entries()
        if stored.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError(username)
        _path().write_text(json.dumps(stored))
