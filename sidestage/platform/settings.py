"""Settings from ``SIDESTAGE_*`` environment variables, with embedded defaults.

The embedded default needs no service: an SQLite file and in-process fan-out
under ``var/``. Production (``SIDESTAGE_ENV=production``) must be given a real
secret; it refuses to start with the development one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from sidestage.platform.errors import ConfigurationError

DEV_SECRET_FILE = "dev-secret"
MIN_SECRET_LENGTH = 32
Network = IPv4Network | IPv6Network
LOCALHOST: tuple[Network, ...] = (ip_network("127.0.0.0/8"), ip_network("::1/128"))
# Seconds a database connection, statement or pool wait may take before it fails. A frozen
# database then fails a request within this and three seconds (see README), not never.
DB_TIMEOUT = 4.0


@dataclass(frozen=True)
class Settings:
    env: str
    data_dir: Path
    database_url: str
    redis_url: str | None
    secret: str
    host: str
    port: int
    trust_proxy: bool
    conference: str | None
    public_url: str | None
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = None  # shared with coturn (use-auth-secret)
    media_capacity: int = 2000  # stage budget units of one process (video viewer 10, audio 1)
    record_stage: bool = True
    media_workers: str = "embedded"  # or "separate": `sidestage media-worker` processes
    media_relay_host: str = "127.0.0.1"  # where a worker serves its stages to the others
    db_timeout: float = DB_TIMEOUT
    metrics_from: tuple[Network, ...] = LOCALHOST  # who may read /metrics without a token
    metrics_token: str | None = None  # or with ``Authorization: Bearer <token>``
    guest_burst: int = 20  # guests one client address may create at once (see web/api.py)

    @property
    def production(self) -> bool:
        return self.env == "production"

    def where_data_lives(self) -> str:
        """The database and the data folder, for people (no password)."""
        database = make_url(self.database_url)
        if database.get_backend_name() == "sqlite":
            return f"data in {self.data_dir} (SQLite database {database.database})"
        place = f"{database.host or 'localhost'}:{database.port or 5432}/{database.database}"
        return f"data in {self.data_dir} and PostgreSQL at {place}"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    env = environ.get("SIDESTAGE_ENV", "development")
    if env not in ("development", "production"):
        raise ConfigurationError(f"SIDESTAGE_ENV must be development or production, not {env!r}")
    data_dir = Path(environ.get("SIDESTAGE_DATA_DIR", "var")).resolve()
    return Settings(
        env=env,
        data_dir=data_dir,
        database_url=environ.get("SIDESTAGE_DATABASE_URL") or _sqlite_url(data_dir),
        redis_url=environ.get("SIDESTAGE_REDIS_URL") or None,
        secret=_secret(environ, env, data_dir),
        host=environ.get("SIDESTAGE_HOST", "127.0.0.1"),
        port=_port(environ.get("SIDESTAGE_PORT", "8080")),
        trust_proxy=environ.get("SIDESTAGE_TRUST_PROXY", "") in ("1", "true", "yes"),
        conference=environ.get("SIDESTAGE_CONFERENCE") or None,
        public_url=environ.get("SIDESTAGE_PUBLIC_URL") or None,
        **_ice(environ),
        media_capacity=_media_capacity(environ.get("SIDESTAGE_MEDIA_CAPACITY")),
        record_stage=environ.get("SIDESTAGE_RECORD_STAGE", "1") not in ("0", "false", "no"),
        media_workers=_media_workers(environ),
        media_relay_host=environ.get("SIDESTAGE_MEDIA_RELAY_HOST", "127.0.0.1"),
        db_timeout=_db_timeout(environ.get("SIDESTAGE_DB_TIMEOUT")),
        **_metrics(environ),
        guest_burst=_positive("SIDESTAGE_GUEST_BURST", environ.get("SIDESTAGE_GUEST_BURST"), 20),
    )


def _db_timeout(raw: str | None) -> float:
    if raw is None or raw == "":
        return DB_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value <= 600:
        raise ConfigurationError(
            f"SIDESTAGE_DB_TIMEOUT must be a number of seconds (up to 600), not {raw!r}"
        )
    return value


MIN_METRICS_TOKEN_LENGTH = 16


def _metrics(environ: Mapping[str, str]) -> dict[str, Any]:
    """Who may read /metrics: these networks (localhost unless given), or a bearer token."""
    raw = environ.get("SIDESTAGE_METRICS_FROM", "")
    try:
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        networks = tuple(ip_network(part, strict=False) for part in parts)
    except ValueError as error:
        raise ConfigurationError(f"SIDESTAGE_METRICS_FROM: {error}") from None
    token = environ.get("SIDESTAGE_METRICS_TOKEN") or None
    if token is not None and len(token) < MIN_METRICS_TOKEN_LENGTH:
        raise ConfigurationError(
            f"SIDESTAGE_METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_LENGTH} characters"
        )
    return {"metrics_from": networks or LOCALHOST, "metrics_token": token}


def _media_workers(environ: Mapping[str, str]) -> str:
    """Where stages' peers live: in each app process, or in separate media workers."""
    mode = environ.get("SIDESTAGE_MEDIA_WORKERS", "embedded")
    if mode not in ("embedded", "separate"):
        raise ConfigurationError(
            f"SIDESTAGE_MEDIA_WORKERS must be embedded or separate, not {mode!r}"
        )
    if mode == "separate" and not environ.get("SIDESTAGE_REDIS_URL"):
        raise ConfigurationError("SIDESTAGE_MEDIA_WORKERS=separate needs SIDESTAGE_REDIS_URL")
    return mode


# A stage process is one core (Python runs one thread of it). Forwarding measured about
# 300 video viewers per core at 100 viewers (bench/stage.py); a video viewer costs 10
# units, so 2,000 units leaves a third for signalling, RTCP and bursts.
UNITS_PER_PROCESS = 2000


def _positive(name: str, raw: str | None, default: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(f"{name} must be a positive whole number, not {raw!r}")
    return int(raw)


def _media_capacity(raw: str | None) -> int:
    if raw is None or raw == "":
        return UNITS_PER_PROCESS
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(
            f"SIDESTAGE_MEDIA_CAPACITY must be a positive number of units, not {raw!r}"
        )
    return int(raw)


ICE_SCHEMES = {"stun": ("stun:", "stuns:"), "turn": ("turn:", "turns:")}
MIN_TURN_SECRET_LENGTH = 16


def _ice(environ: Mapping[str, str]) -> dict[str, Any]:
    """STUN and TURN servers for WebRTC: comma-separated URLs, and coturn's shared secret."""
    stun = _ice_urls(environ.get("SIDESTAGE_STUN_URLS", ""), "stun")
    turn = _ice_urls(environ.get("SIDESTAGE_TURN_URL", ""), "turn")
    secret = environ.get("SIDESTAGE_TURN_SECRET") or None
    if turn and (secret is None or len(secret) < MIN_TURN_SECRET_LENGTH):
        raise ConfigurationError(
            "SIDESTAGE_TURN_URL needs SIDESTAGE_TURN_SECRET, the secret coturn shares "
            f"(at least {MIN_TURN_SECRET_LENGTH} characters)"
        )
    return {"stun_urls": stun, "turn_urls": turn, "turn_secret": secret if turn else None}


def _ice_urls(raw: str, kind: str) -> tuple[str, ...]:
    urls = tuple(part.strip() for part in raw.split(",") if part.strip())
    for url in urls:
        if not url.startswith(ICE_SCHEMES[kind]) or len(url) > 300:
            raise ConfigurationError(f"not a {kind} server URL: {url!r} (e.g. {kind}:host:3478)")
    return urls


def _sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'sidestage.db'}"


def _port(raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigurationError(f"SIDESTAGE_PORT must be a port number, not {raw!r}")
    return int(raw)


def _secret(environ: Mapping[str, str], env: str, data_dir: Path) -> str:
    given = environ.get("SIDESTAGE_SECRET", "")
    dev_file = data_dir / DEV_SECRET_FILE
    if env == "production":
        dev_secret = dev_file.read_text().strip() if dev_file.exists() else None
        if len(given) < MIN_SECRET_LENGTH or given == dev_secret:
            raise ConfigurationError(
                "production needs SIDESTAGE_SECRET: at least "
                f"{MIN_SECRET_LENGTH} random characters, not the development secret"
            )
        return given
    return given or _development_secret(dev_file)


def _development_secret(path: Path) -> str:
    """A per-checkout secret, generated once and kept beside the database."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
