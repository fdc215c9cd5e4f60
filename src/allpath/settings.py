"""Runtime settings, read from the environment (nothing clinical lives here).

``ALLPATH_DATABASE_URL``  SQLAlchemy URL; default: SQLite in the data directory.
``ALLPATH_DATA_DIR``      where the SQLite database lives; default ``./allpath-data``.
``ALLPATH_SESSION_HOURS`` how long a sign-in lasts; default 12.
``ALLPATH_SECURE_COOKIES`` ``1`` to mark cookies Secure (behind HTTPS); default ``0`` for local use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SignInLimits:
    """Failed sign-ins allowed per window: for one user name from one client, and from one client in all."""

    per_name_and_client: int = 5
    per_client: int = 20
    window_seconds: int = 300


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    session_hours: float
    secure_cookies: bool
    sign_in_limits: SignInLimits = SignInLimits()


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    data_dir = Path(env.get("ALLPATH_DATA_DIR", "allpath-data")).resolve()
    url = env.get("ALLPATH_DATABASE_URL") or f"sqlite:///{data_dir / 'allpath.db'}"
    return Settings(
        database_url=url,
        data_dir=data_dir,
        session_hours=float(env.get("ALLPATH_SESSION_HOURS", "12")),
        secure_cookies=env.get("ALLPATH_SECURE_COOKIES", "0") == "1",
    )
