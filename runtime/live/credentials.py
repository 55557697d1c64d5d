"""Exchange credentials: from environment variables or a file only its owner can read.

Looked up in this order:

1. ``--credentials FILE`` (or ``$QUANTBRIDGE_CREDENTIALS``): a JSON object
   ``{"api_key": "...", "secret": "..."}`` (optionally ``"password"``). The file must
   not be readable or writable by group or others (``chmod 600``): a looser file is
   refused, naming the file and its mode — never its content.
2. ``$QUANTBRIDGE_<EXCHANGE>_API_KEY`` / ``$QUANTBRIDGE_<EXCHANGE>_SECRET`` (exchange id in
   upper case, e.g. ``QUANTBRIDGE_BINANCEUSDM_API_KEY``), then the generic
   ``$QUANTBRIDGE_API_KEY`` / ``$QUANTBRIDGE_SECRET``.

:class:`Credentials` never shows its secrets: ``repr``/``str`` print a fingerprint (the
first 8 hex digits of the key's SHA-256), which is also what names the account in the
store and in logs.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

__all__ = ["CREDENTIALS_ENV", "Credentials", "CredentialsError", "load_credentials"]

CREDENTIALS_ENV: Final = "QUANTBRIDGE_CREDENTIALS"
_LOOSE_BITS: Final = stat.S_IRWXG | stat.S_IRWXO


class CredentialsError(ValueError):
    """Credentials missing or stored unsafely (the message never contains a secret)."""


@dataclass(frozen=True)
class Credentials:
    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    password: str = field(default="", repr=False)
    source: str = ""

    @property
    def fingerprint(self) -> str:
        """A short, stable, non-secret name of the key."""
        return hashlib.sha256(self.api_key.encode()).hexdigest()[:8]

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret string (for log and message redaction)."""
        return tuple(s for s in (self.api_key, self.secret, self.password) if s)

    def __repr__(self) -> str:
        return f"Credentials(key {self.fingerprint}, from {self.source})"

    __str__ = __repr__


def _from_file(path: Path) -> Credentials:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise CredentialsError(f"credentials file {path}: cannot read it ({exc.strerror})") from None
    if mode & _LOOSE_BITS:
        raise CredentialsError(
            f"credentials file {path}: mode {stat.S_IMODE(mode):o} lets others read it; "
            f"expected owner-only access (chmod 600 {path})"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise CredentialsError(
            f'credentials file {path}: expected a JSON object {{"api_key": ..., "secret": ...}}'
        ) from None
    if not isinstance(data, dict) or not data.get("api_key") or not data.get("secret"):
        raise CredentialsError(f"credentials file {path}: fields 'api_key' and 'secret' are required")
    return Credentials(str(data["api_key"]), str(data["secret"]), str(data.get("password", "")), source=str(path))


def _from_env(env: Mapping[str, str], exchange: str) -> Credentials | None:
    for prefix in (f"QUANTBRIDGE_{exchange.upper()}_", "QUANTBRIDGE_"):
        key, secret = env.get(prefix + "API_KEY", ""), env.get(prefix + "SECRET", "")
        if key and secret:
            return Credentials(key, secret, env.get(prefix + "PASSWORD", ""), source=f"${prefix}API_KEY")
    return None


def load_credentials(exchange: str, path: Path | None = None, environ: Mapping[str, str] | None = None) -> Credentials:
    """The credentials for ``exchange`` (see the module docstring); :class:`CredentialsError`
    naming what is missing when there are none."""
    env = os.environ if environ is None else environ
    chosen = path or (Path(env[CREDENTIALS_ENV]) if env.get(CREDENTIALS_ENV) else None)
    if chosen is not None:
        return _from_file(chosen)
    found = _from_env(env, exchange)
    if found is None:
        raise CredentialsError(
            f"no credentials for {exchange}: set $QUANTBRIDGE_{exchange.upper()}_API_KEY and "
            f"$QUANTBRIDGE_{exchange.upper()}_SECRET, or pass --credentials FILE (a chmod 600 JSON file)"
        )
    return found
