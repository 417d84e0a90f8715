"""Settings of the features every instance kind shares, read the way ServiceControl reads them, plus the lab's knobs.

- CORS (``<namespace>/Cors.AllowAnyOrigin``, ``<namespace>/Cors.AllowedOrigins``; 6.11+), read by
  ServiceControl.Infrastructure/CorsSettings for the Error, Audit and Monitoring instances alike
  (docs/reference/servicecontrol.md §1.12).
- Data expiry: ``ExpirationProcessTimerInSeconds`` (the RavenDB persisters' expiry sweep) and the Error
  instance's ``EventsRetentionPeriod`` (docs/reference/servicecontrol.md §1.13).
- ``AllowMessageEditing`` (Error).

Lab-only knobs (environment variables, never ServiceControl settings) are named ``LAB_*`` and listed in
lab/README.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.parse
from dataclasses import dataclass, field

from lab.settings import AUDIT_NS, ERROR_NS, SettingsError, SettingsReader, parse_timespan

log = logging.getLogger("lab.settings")

#: Lab-only: how much faster than the wall clock the retention clock runs. 86400 makes a retention day pass in
#: one second, so a valid ErrorRetentionPeriod (5 days at least) expires in seconds in tests.
RETENTION_CLOCK_SPEED_ENV = "LAB_RETENTION_CLOCK_SPEED"
#: Lab-only: which licence the instances report: commercial (default), trial, expired, expired-trial.
LICENSE_ENV = "LAB_LICENSE"
LICENSES = ("commercial", "trial", "expired", "expired-trial")

ANY_ORIGIN_FROM = (6, 11, 0)
REQUEST_ID_FROM = (6, 18, 0)


@dataclass
class CorsSettings:
    """CorsSettings: any origin unless ``Cors.AllowedOrigins`` names some (then credentials are allowed too)."""

    allow_any_origin: bool = True
    allowed_origins: list[str] = field(default_factory=list)
    #: The headers ServiceControl asks browsers to let scripts read (Request-Id from 6.18).
    exposed_headers: tuple[str, ...] = ("ETag", "Last-Modified", "Link", "Total-Count", "X-Particular-Version")
    allowed_headers: tuple[str, ...] = ("Origin", "X-Requested-With", "Content-Type", "Accept", "Authorization")
    allowed_methods: tuple[str, ...] = ("POST", "GET", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD")


def _origin(text: str) -> str | None:
    """``scheme://authority`` of an absolute URI (Uri.Authority leaves out a default port), else None."""
    parts = urllib.parse.urlsplit(text)
    if not parts.scheme or not parts.netloc:
        return None
    host = (parts.hostname or "").lower()
    port = parts.port
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    authority = host if port is None or port == default else "%s:%d" % (host, port)
    return "%s://%s" % (parts.scheme.lower(), authority)


def read_cors(reader: SettingsReader, namespace: str, kind: str) -> CorsSettings:
    version = reader.version
    exposed = ["ETag", "Last-Modified", "Link", "Total-Count", "X-Particular-Version"]
    if kind == "error":
        exposed.append("Content-Disposition")
    if version >= REQUEST_ID_FROM:
        exposed.append("Request-Id")
    if version < ANY_ORIGIN_FROM:
        # Before 6.11 the policy was fixed: any origin, and no Authorization among the allowed headers.
        return CorsSettings(
            exposed_headers=tuple(exposed), allowed_headers=("Origin", "X-Requested-With", "Content-Type", "Accept")
        )
    allow_any = reader.read_bool(namespace, "Cors.AllowAnyOrigin", True)
    origins: list[str] = []
    raw = reader.read(namespace, "Cors.AllowedOrigins")
    if raw and raw.strip():
        for part in (p.strip() for p in raw.replace(";", ",").split(",")):
            if not part:
                continue
            origin = _origin(part)
            if origin is None:
                log.warning("Invalid origin URL in Cors.AllowedOrigins: '%s'", part)
            else:
                origins.append(origin)
        if origins and allow_any:
            log.info("Cors.AllowedOrigins configured, setting AllowAnyOrigin to false")
            allow_any = False
    return CorsSettings(allow_any_origin=allow_any, allowed_origins=origins, exposed_headers=tuple(exposed))


@dataclass
class FeatureSettings:
    """The settings of lab.settings_features for one instance."""

    cors: CorsSettings
    #: ``ExpirationProcessTimerInSeconds``: how often expired documents are deleted (RavenDB's expiry sweep).
    expiration_process_timer: float = 600.0
    #: ``EventsRetentionPeriod`` (Error): how long event log items are kept.
    events_retention_period: dt.timedelta = dt.timedelta(days=14)
    allow_message_editing: bool = False
    retention_clock_speed: float = 1.0
    license: str = "commercial"

    def scaled(self, period: dt.timedelta) -> dt.timedelta:
        """A retention period as the lab's retention clock measures it (``LAB_RETENTION_CLOCK_SPEED``)."""
        return period / self.retention_clock_speed


def _expiration_timer(reader: SettingsReader, namespace: str, kind: str) -> float:
    value = reader.read_int(namespace, "ExpirationProcessTimerInSeconds", 600)
    if kind == "audit" and not 0 <= value <= 3 * 3600:
        # The Audit persister logs the bad value and falls back to the default.
        log.error("ExpirationProcessTimerInSeconds is out of range (0 to 10800). Defaulting to 600")
        return 600.0
    return float(value)


def _lab_knobs(environ: dict[str, str]) -> dict:
    raw_speed = environ.get(RETENTION_CLOCK_SPEED_ENV, "1")
    try:
        speed = float(raw_speed)
    except ValueError:
        speed = 0.0
    if speed <= 0:
        raise SettingsError("%s must be a positive number, not %r." % (RETENTION_CLOCK_SPEED_ENV, raw_speed))
    licence = environ.get(LICENSE_ENV, "commercial").strip().lower()
    if licence not in LICENSES:
        raise SettingsError("%s must be one of %s, not %r." % (LICENSE_ENV, ", ".join(LICENSES), licence))
    return {"retention_clock_speed": speed, "license": licence}


def load_features(reader: SettingsReader, kind: str) -> FeatureSettings:
    namespace = {"error": ERROR_NS, "audit": AUDIT_NS}.get(kind, "Monitoring")
    features = FeatureSettings(cors=read_cors(reader, namespace, kind), **_lab_knobs(reader.environ))
    if kind in ("error", "audit"):
        features.expiration_process_timer = _expiration_timer(reader, namespace, kind)
    if kind == "error":
        events = reader.read(namespace, "EventsRetentionPeriod")
        parsed = parse_timespan(events) if events is not None else None
        if parsed is not None:
            features.events_retention_period = parsed
        features.allow_message_editing = bool(reader.read_bool(namespace, "AllowMessageEditing", False))
    return features
