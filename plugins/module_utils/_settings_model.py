# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: not a public API; other collections must not import it.
"""The shape of one catalogue entry, how ServiceControl turns setting text into values, and the constants the
catalogue files share (the setting groups more than one kind reads are in _settings_shared).

ServiceControl reads every setting as text and converts it with the .NET ``TypeConverter`` of the target
type (``SC@6.19.2:src/ServiceControl.Configuration/ValueConverter.cs``; docs/reference/servicecontrol.md §1.1):
booleans are ``true``/``false`` in any case, integers are decimal, TimeSpans use .NET's
``[d.]hh:mm[:ss[.f]]`` / ``d:hh:mm:ss`` forms and a bare integer means days. A value the converter cannot
read makes the start fail.
"""

from __future__ import annotations

import datetime
import json
import re
from collections import namedtuple
from urllib.parse import urlsplit

#: One setting an instance kind reads.
#:
#: key          ``<namespace>/<name>``, spelt as ServiceControl's code or installer spells it
#: kind         error | audit | monitoring
#: type         str | bool | int | timespan | json | enum | uri | list
#: default      ServiceControl's own default (a callable derives it from other settings), None for none
#: since        first ServiceControl version that reads it (None: 4.0.0 or earlier; for Monitoring, every
#:              version since it joined the ServiceControl repository at 4.3.0)
#: required     ServiceControl refuses to start without it
#: secret       never shown in messages, diffs or returned values
#: minimum,     inclusive limits; numbers for int, seconds for timespan
#: maximum
#: reasons      ServiceControl's own words for a refusal: keys missing, type, min, max, empty, choice
#: choices      accepted values of an enum (compared case-insensitively, as ServiceControl does)
#: gated        the range checks are skipped when ``<namespace>/ValidateConfig`` is false
#: replaced     ServiceControl does not refuse a bad value but ignores it and uses the default: True for every
#:              check, or the reason keys (type, min, max, choice) it does so for
#: config_only  read from the ``.exe.config`` appSettings only (no environment variable, no registry)
#: effective    effective_settings() completes it with its default (the settings the topology reasons about)
#: alias_of     the key this one is an older or fallback spelling of
#: applies      when ServiceControl reads it (a persister, a transport), None for always
#: source       the file at ServiceControl 6.19.2 (``SC@6.19.2:<source>``) that reads it
#: note         one line for the rendered catalogue
#: default_text what the catalogue shows when the default is not a plain value
FIELDS = (
    "key",
    "kind",
    "type",
    "default",
    "since",
    "required",
    "secret",
    "minimum",
    "maximum",
    "reasons",
    "choices",
    "gated",
    "replaced",
    "config_only",
    "effective",
    "alias_of",
    "applies",
    "source",
    "note",
    "default_text",
)
Setting = namedtuple("Setting", FIELDS, defaults=(None,) * (len(FIELDS) - 4))

TYPES = ("str", "bool", "int", "timespan", "json", "enum", "uri", "list")
#: default_text of a setting ServiceControl has no default for (it stays unset).
NONE = "none"
DAY, HOUR, MINUTE = 86400, 3600, 60
INT32 = (-(2**31), 2**31 - 1)

#: Installer port range (SC@6.19.2:src/ServiceControlInstaller.Engine/Validation/PortValidator.cs and
#: DatabaseMaintenancePortValidator.cs; SCMU and the PowerShell cmdlets refuse anything else).
PORT_RANGE = (1, 49151)
PORT_REASONS = {
    "min": "Port number is not between 1 and 49151",
    "max": "Port number is not between 1 and 49151",
}
MAINTENANCE_PORT_REASONS = {
    "min": "Database maintenance port number is not between 1 and 49151",
    "max": "Database maintenance port number is not between 1 and 49151",
}


def entries_of(kind, source):
    """``entry`` for one kind, with ``source`` unless an entry names its own."""

    def make(key, type_, default=None, **fields):
        fields.setdefault("source", source)
        return entry(kind, key, type_, default, **fields)

    return make


def log_queue_of(queue):
    """ServiceControl's ``Subscope``: append ``.log`` before any MSMQ ``@machine`` part (Settings.cs, §1.2)."""
    name, at, machine = str(queue).partition("@")
    return "%s.log%s%s" % (name, at, machine)


def entry(kind, key, type_, default=None, **fields):
    """A catalogue entry; ``fields`` are the optional Setting fields."""
    if type_ not in TYPES:
        raise ValueError("unknown setting type %s for %s" % (type_, key))
    return Setting(key, kind, type_, default, **fields)


# -- values as ServiceControl reads them ------------------------------------------------------------------

_INT = re.compile(r"^\s*[+-]?\d+\s*$")
_TIMESPAN = re.compile(r"^\s*(-)?(?:(\d+)\.)?(\d+(?::\d+){0,3})(?:\.(\d{1,7}))?\s*$")


def text_of(value):
    """A setting value as the text ServiceControl reads (booleans true/false, lists and mappings as JSON)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.timedelta):
        return timespan_text(value.total_seconds())
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def parse_bool(text):
    text = str(text).strip().lower()
    if text not in ("true", "false"):
        raise ValueError("must be true or false")
    return text == "true"


def parse_int(text):
    if not _INT.match(str(text)):
        raise ValueError("must be a whole number")
    number = int(str(text).strip())
    if not INT32[0] <= number <= INT32[1]:
        raise ValueError("is outside the 32-bit integer range")
    return number


def parse_timespan(text):
    """Seconds in a .NET TimeSpan text: ``15`` is 15 days, ``15:00`` 15 hours, ``00:05:00`` five minutes,
    ``1.02:03:04`` and ``1:02:03:04`` one day and a bit (TimeSpan.Parse's ``c`` and ``g`` forms)."""
    match = _TIMESPAN.match(str(text))
    parts = match.group(3).split(":") if match else []
    days_dot, fraction = (match.group(2), match.group(4)) if match else (None, None)
    # A day part is written "d." before hh:mm or as the first of four colon-separated parts; a fraction
    # needs seconds; a bare number is days.
    if not match or (days_dot and len(parts) not in (2, 3)) or (fraction and len(parts) < 3):
        raise ValueError("must be a TimeSpan such as 15 (days), 10.00:00:00 or 00:05:00")
    numbers = [int(part) for part in parts]
    if len(numbers) == 1:
        return (-1 if match.group(1) else 1) * numbers[0] * DAY
    days = int(days_dot) if days_dot else (numbers.pop(0) if len(numbers) == 4 else 0)
    hours, minutes, seconds = [*numbers, 0][:3]
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError("has hours over 23 or minutes or seconds over 59, which .NET refuses")
    total = days * DAY + hours * HOUR + minutes * MINUTE + seconds + (float("0." + fraction) if fraction else 0)
    return -total if match.group(1) else total


def parse_uri(text):
    parts = urlsplit(str(text).strip())
    if not parts.scheme or not (parts.netloc or parts.path):
        raise ValueError("must be an absolute URI")
    return str(text).strip()


def parse_json(value):
    if isinstance(value, (list, dict)):
        return value
    try:
        return json.loads(str(value))
    except ValueError:
        raise ValueError("must be JSON") from None


def _parse_timespan_value(setting, value):
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    return parse_timespan(text_of(value))


def _parse_enum(setting, value):
    text = text_of(value).strip()
    if "," in text:  # a .NET type name instead of a manifest Name (PersistenceType)
        return text
    for choice in setting.choices:
        if choice.lower() == text.lower():
            return choice
    raise ValueError("must be one of %s" % ", ".join(setting.choices))


_PARSERS = {
    "bool": lambda setting, value: parse_bool(text_of(value)),
    "int": lambda setting, value: parse_int(text_of(value)),
    "timespan": _parse_timespan_value,
    "json": lambda setting, value: parse_json(value),
    "uri": lambda setting, value: parse_uri(text_of(value)),
    "enum": _parse_enum,
    "list": lambda setting, value: [part.strip() for part in re.split(r"[,;]", text_of(value)) if part.strip()],
    "str": lambda setting, value: text_of(value),
}


def parse(setting, value):
    """The value ServiceControl would read for ``setting``; ValueError says why it could not."""
    return _PARSERS[setting.type](setting, value)


def timespan_text(seconds):
    """Seconds as .NET writes a TimeSpan (``d.hh:mm:ss``)."""
    seconds = int(seconds)
    days, rest = divmod(abs(seconds), DAY)
    hours, rest = divmod(rest, HOUR)
    minutes, secs = divmod(rest, MINUTE)
    text = "%02d:%02d:%02d" % (hours, minutes, secs)
    return ("-" if seconds < 0 else "") + ("%d.%s" % (days, text) if days else text)


def human_seconds(seconds):
    """5 days, 1 hour, 40 seconds: limits in the words ServiceControl's messages use."""
    for size, unit in ((DAY, "day"), (HOUR, "hour"), (MINUTE, "minute"), (1, "second")):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return "%d %s%s" % (count, unit, "" if count == 1 else "s")
    return timespan_text(seconds)
