# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: not a public API; other collections must not import it.
"""The settings catalogue: every setting ServiceControl 6.19.2 reads, per instance kind, and the rules
ServiceControl applies to them.

Keys keep ServiceControl's names (``ServiceBus/ErrorQueue``, ``ServiceControl/ForwardErrorMessages``) so a
ServiceControl administrator recognises every one. The entries live in ``_settings_error``, ``_settings_audit``
and ``_settings_monitoring``, read from each instance's ``Settings.cs`` and the files it delegates to
(docs/reference/servicecontrol.md §1.1-§1.8); docs/settings.md is rendered from them.

``validate_settings`` refuses, before any change, what ServiceControl would refuse at start-up (with
ServiceControl's own reason), what a given version does not read yet, and keys ServiceControl does not read
at all (with the nearest known keys).
"""

from __future__ import annotations

import difflib
import re

from ansible_collections.servicecontrol.platform.plugins.module_utils._settings_audit import AUDIT_SETTINGS
from ansible_collections.servicecontrol.platform.plugins.module_utils._settings_error import ERROR_SETTINGS
from ansible_collections.servicecontrol.platform.plugins.module_utils._settings_model import (
    Setting,
    human_seconds,
    log_queue_of,
    parse,
    parse_bool,
    text_of,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._settings_monitoring import MONITORING_SETTINGS
from ansible_collections.servicecontrol.platform.plugins.module_utils._settings_rules import RULES
from ansible_collections.servicecontrol.platform.plugins.module_utils._settings_versions import (
    APP_NAMESPACES,
    ENVIRONMENT_ONLY,
    KIND_NAMESPACES,
    RETIRED,
    VERSION_KEYS,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._version import (
    UNKNOWN_VERSIONS,
    Version,
    parse_version,
)

__all__ = (
    "CATALOGUE",
    "ENVIRONMENT_ONLY",
    "KIND_NAMESPACES",
    "RETIRED",
    "SHARED_NAMESPACES",
    "Setting",
    "describe",
    "effective_settings",
    "environment_name",
    "environment_names",
    "find_setting",
    "format_value",
    "ingestion_switch",
    "is_secret",
    "key_for_version",
    "log_queue_of",
    "namespaces_for",
    "preferred_environment_name",
    "secret_keys",
    "settings_for",
    "to_bool",
    "validate_settings",
)

#: The ServiceControl release the catalogue describes.
BASELINE = "6.19.2"

#: Namespaces besides an instance's own that the Error instance (ServiceBus/*, LicensingComponent/*) and the
#: Audit instance (ServiceBus/*) read. Which keys each kind reads is the catalogue's business: settings_for().
SHARED_NAMESPACES = ("ServiceBus", "LicensingComponent")

#: Every setting ServiceControl 6.19.2 reads: Error, then Audit, then Monitoring.
CATALOGUE = ERROR_SETTINGS + AUDIT_SETTINGS + MONITORING_SETTINGS

_BY_KIND = {}
_INDEX = {}
for _setting in CATALOGUE:
    _BY_KIND.setdefault(_setting.kind, []).append(_setting)
    _INDEX[(_setting.kind, _setting.key.lower())] = _setting

# -- lookups ------------------------------------------------------------------------------------------------


def settings_for(kind):
    """Catalogue entries of one instance kind."""
    return list(_BY_KIND.get(kind, ()))


def find_setting(kind, key):
    """The catalogue entry ServiceControl reads for ``key`` on that kind (keys compare case-insensitively, as
    ServiceControl's appSettings and registry lookups do), or None."""
    return _INDEX.get((kind, str(key).lower()))


def namespaces_for(kind):
    """The namespaces a kind's keys start with (fallback spellings such as ServiceControl/IngestAuditMessages
    on Audit instances aside)."""
    seen = []
    for setting in settings_for(kind):
        namespace = setting.key.split("/", 1)[0]
        if not setting.alias_of and namespace not in seen:
            seen.append(namespace)
    return tuple(seen)


def is_secret(key):
    """True when any kind reads ``key`` as a secret (connection strings, passwords, license text)."""
    return str(key).lower() in secret_keys()


def secret_keys(kind=None):
    """Lower-cased keys whose values must never be shown, for one kind or all (retired keys included)."""
    keys = {s.key.lower() for s in CATALOGUE if s.secret and kind in (None, s.kind)}
    keys.update(r.key.lower() for r in RETIRED if r.secret and kind in (None, r.kind))
    return frozenset(keys)


# -- values ---------------------------------------------------------------------------------------------------


def to_bool(value, key):
    """ServiceControl reads booleans with a TypeConverter: true/false in any case."""
    if isinstance(value, bool):
        return value
    try:
        return parse_bool(value)
    except ValueError:
        raise ValueError("Setting %s must be true or false, not '%s'." % (key, value)) from None


def format_value(value):
    """A setting value as ServiceControl's TypeConverter reads it from text (booleans as true/false, lists and
    mappings as JSON, timedeltas as .NET TimeSpans)."""
    return text_of(value)


def effective_settings(kind, settings):
    """Return the given settings completed with ServiceControl's defaults for the settings the topology reasons
    about (queues, forwarding, ingestion, instance name; ``Setting.effective``).

    Booleans of any catalogue setting are normalised. Keys not in the catalogue pass through unchanged.
    """
    result = dict(settings or {})
    for setting in settings_for(kind):
        if setting.key in result and result[setting.key] is not None:
            if setting.type == "bool":
                result[setting.key] = to_bool(result[setting.key], setting.key)
            continue
        if setting.effective and not callable(setting.default):
            result[setting.key] = setting.default
    # Derived defaults last: they read the settings above.
    for setting in settings_for(kind):
        if setting.effective and callable(setting.default) and result.get(setting.key) in (None, ""):
            result[setting.key] = setting.default(result)
    return result


# -- environment names and versions ---------------------------------------------------------------------------


def _version(version):
    if version is None or isinstance(version, Version):
        return version
    return parse_version(version)


def _kind_of(key, kind):
    if kind:
        return kind
    kinds = {s.kind for s in CATALOGUE if s.key.lower() == str(key).lower()}
    return kinds.pop() if len(kinds) == 1 else None


def environment_name(key):
    """ServiceControl's environment-variable name for a setting key (5.3.0+ rule).

    ``<namespace>/<name>`` with every ``.`` and ``/`` replaced by ``_``, upper-cased; always the fully
    qualified form, because bare names are shared by every instance type on a host and ``ServiceBus/*``
    keys are only read fully qualified.
    """
    return str(key).replace(".", "_").replace("/", "_").upper()


def environment_names(key, version=None, kind=None):
    """Every environment-variable name that ``version`` (default: 6.19.2) tries for ``key``, in its order
    (docs/reference/servicecontrol.md §1.1). Empty for keys read from the .exe.config only.

    ``kind`` matters for 4.26-4.33, where only the Audit instance replaced ``/`` as well; it is found from
    the catalogue when the key belongs to one kind only.
    """
    key = str(key)
    setting = find_setting(_kind_of(key, kind), key)
    if setting is not None and setting.config_only:
        return []
    namespace, _separator, name = key.partition("/")
    parsed = _version(version)
    dotted = key.replace("/", "_", 1).replace(".", "_")  # "<ns>_<name>" with "." replaced, "/" in name kept
    flat = dotted.replace("/", "_")
    if parsed is None or parsed >= Version("5.3.0"):
        names = [flat.upper(), flat]
        if namespace in APP_NAMESPACES:
            bare = name.replace(".", "_").replace("/", "_")
            names += [bare.upper(), bare]
    elif parsed >= Version("5.0.0") or (parsed >= Version("4.26.0") and _kind_of(key, kind) == "audit"):
        names = [key, dotted, flat]
    elif parsed >= Version("4.15.0"):
        names = [key, dotted]
    else:
        names = [key]
    unique = []
    for candidate in names:
        if candidate not in unique:
            unique.append(candidate)
    return unique


def preferred_environment_name(key, version=None, kind=None):
    """The name to write for ``key``: the first candidate of that version that a POSIX shell and a container
    ``--env`` accept (letters, digits, ``_``), else its first candidate; None for .exe.config-only keys."""
    names = environment_names(key, version, kind)
    for name in names:
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            return name
    return names[0] if names else None


def key_for_version(kind, key, version):
    """The key ``version`` reads for the setting 6.19.2 calls ``key``, or None when that version has no such
    setting (docs/reference/servicecontrol.md §1.7). ``version`` None means 6.19.2."""
    setting = find_setting(kind, key)
    canonical = setting.key if setting else str(key)
    parsed = _version(version)
    if parsed is None:
        return canonical
    for since, older_key, _hint in VERSION_KEYS.get((kind, canonical), ()):
        if parsed >= Version(since):
            return older_key
    if (kind, canonical) in VERSION_KEYS:
        return None
    if setting is not None and setting.since and parsed < Version(setting.since):
        return None
    return canonical


def _version_hint(kind, key, version):
    for since, older_key, hint in VERSION_KEYS.get((kind, key), ()):
        if version >= Version(since):
            return "; %s reads '%s' instead" % (version, older_key) if older_key else "; there %s" % hint
    return ""


def ingestion_switch(kind, version=None):
    """How ``version`` switches ingestion off and on: ``{"key", "off", "on"}``, where an ``on`` of None means
    "write the queue name back"; None for Monitoring instances (§1.7)."""
    key = {"error": "ServiceControl/IngestErrorMessages", "audit": "ServiceControl.Audit/IngestAuditMessages"}.get(kind)
    if key is None:
        return None
    current = key_for_version(kind, key, version)
    if current:
        return {"key": current, "off": False, "on": True}
    queue = "ServiceBus/ErrorQueue" if kind == "error" else "ServiceBus/AuditQueue"
    return {"key": queue, "off": "!disable", "on": None}


# -- validation ------------------------------------------------------------------------------------------------


def _article(kind):
    return "an" if kind[0] in "aeiou" else "a"


def _shown(setting, value):
    if setting is not None and setting.secret:
        return "(value not shown)"
    text = "'%s'" % text_of(value)
    return text


def _limit(setting, number):
    return human_seconds(number) if setting.type == "timespan" else str(number)


def _replaced(setting, reason_key):
    """Whether ServiceControl ignores (rather than refuses) a value failing that check."""
    return setting.replaced is True or reason_key in (setting.replaced or ())


def _refusal(setting, reason_key):
    """What ServiceControl does with a value failing that check, in its own words where it has some."""
    reason = (setting.reasons or {}).get(reason_key)
    verb = "ServiceControl would ignore it" if _replaced(setting, reason_key) else "ServiceControl refuses it"
    return "%s: %s" % (verb, reason) if reason else verb


def _check_value(setting, value, validate_config):
    """Problems with one given value, and the value ServiceControl would read (None when unreadable)."""
    key = setting.key
    text = text_of(value)
    if setting.type == "str":
        if not text and (setting.reasons or {}).get("empty"):
            return ["setting '%s' is empty; %s" % (key, _refusal(setting, "empty"))], None
        return [], text
    try:
        parsed = parse(setting, value)
    except ValueError as exc:
        check = "choice" if setting.type == "enum" else "type"
        return ["setting %s %s, not %s; %s" % (key, exc, _shown(setting, value), _refusal(setting, check))], None
    problems = []
    if setting.type in ("int", "timespan") and not (setting.gated and validate_config is False):
        shown = _shown(setting, value) + (" (%s)" % human_seconds(parsed) if setting.type == "timespan" else "")
        if setting.minimum is not None and parsed < setting.minimum:
            problems.append(
                "setting %s is %s, below %s; %s"
                % (key, shown, _limit(setting, setting.minimum), _refusal(setting, "min"))
            )
        if setting.maximum is not None and parsed > setting.maximum:
            problems.append(
                "setting %s is %s, above %s; %s"
                % (key, shown, _limit(setting, setting.maximum), _refusal(setting, "max"))
            )
    return problems, parsed


def _nearest(kind, key):
    """Up to three keys of that kind nearest to ``key``: the same name in another namespace first, then the
    closest spellings (difflib) of the name after the namespace."""
    names = {}
    for setting in settings_for(kind):
        names.setdefault(setting.key.split("/", 1)[-1].lower(), []).append(setting.key)
    name = str(key).split("/", 1)[-1].lower()
    close = list(names.get(name, ()))
    for match in difflib.get_close_matches(name, list(names), n=3, cutoff=0.7):
        close += [candidate for candidate in names[match] if candidate not in close]
    return close[:3]


def _unknown(kind, key, version):
    close = _nearest(kind, key)
    suggestion = " Did you mean %s?" % " or ".join(close) if close else ""
    namespace = str(key).split("/", 1)[0] if "/" in str(key) else None
    allowed = namespaces_for(kind)
    if namespace not in allowed:
        others = sorted({s.kind for s in CATALOGUE if s.key.lower() == str(key).lower()})
        elsewhere = " (%s instances read it)" % " and ".join(others) if others else ""
        return "setting '%s' does not belong to a %s instance%s; its keys start with %s.%s" % (
            key,
            kind,
            elsewhere,
            " or ".join("%s/" % n for n in allowed),
            suggestion,
        )
    return "setting '%s' is not one that ServiceControl %s reads on %s %s instance.%s%s" % (
        key,
        version or BASELINE,
        _article(kind),
        kind,
        suggestion,
        "" if close else " docs/settings.md lists the settings it reads.",
    )


def _retired(kind, key, version):
    """(accepted, problem) for a key only older versions read, or None when the key was never retired."""
    for retired in RETIRED:
        if retired.kind != kind or retired.key.lower() != str(key).lower():
            continue
        if version is not None and retired.since and version < Version(retired.since):
            return False, "setting '%s' is read from ServiceControl %s up to %s only; this instance runs %s." % (
                key,
                retired.since,
                retired.until,
                version,
            )
        if version is not None and version < Version(retired.until):
            return True, None
        return False, "setting '%s' is not read from ServiceControl %s on (instead: %s)." % (
            key,
            retired.until,
            retired.instead,
        )
    return None


def _duplicates(settings):
    seen, problems = {}, []
    for key in settings:
        first = seen.setdefault(str(key).lower(), key)
        if first != key:
            problems.append(
                "settings '%s' and '%s' are one ServiceControl setting (keys are case-insensitive); give it once."
                % (first, key)
            )
    return problems


def _validate_config(kind, settings):
    """The ValidateConfig value given (True, False), or None when it is absent or unreadable."""
    value = settings.get(KIND_NAMESPACES[kind] + "/ValidateConfig")
    try:
        return None if value is None else parse_bool(text_of(value))
    except ValueError:
        return None


def _check_key(kind, key, version):
    """(setting or None, problems) for one given key."""
    setting = find_setting(kind, key)
    if setting is None:
        retired = _retired(kind, key, version)
        if retired is None:
            return None, [_unknown(kind, key, version)]
        return None, [retired[1]] if retired[1] else []
    problems = []
    if setting.key != key:
        problems.append(
            "setting '%s' is spelt '%s' in ServiceControl; write it that way so the collection recognises it."
            % (key, setting.key)
        )
    if version is not None and setting.since and version < Version(setting.since):
        problems.append(
            "setting '%s' is read from ServiceControl %s on; this instance runs %s%s."
            % (setting.key, setting.since, version, _version_hint(kind, setting.key, version))
        )
    return setting, problems


def _missing(kind, settings):
    given = {str(k).lower() for k, v in settings.items() if v is not None}
    problems = []
    for setting in settings_for(kind):
        if setting.required and setting.key.lower() not in given:
            reason = (setting.reasons or {}).get("missing")
            problems.append(
                "setting %s is required; ServiceControl refuses to start without it%s"
                % (setting.key, ": %s" % reason if reason else ".")
            )
    return problems


def validate_settings(kind, settings, version=None, check_required=True):
    """What ServiceControl ``version`` (default 6.19.2) would refuse in these settings, as messages (empty when
    fine): unknown keys with the nearest known ones, unreadable values, values out of range with
    ServiceControl's reason, settings that version does not read yet, keys given twice in different case,
    combinations ServiceControl refuses, and, with ``check_required``, required settings that are missing.

    ``version`` is a version text such as ``4.33.0`` (or a _version.Version). Messages never contain the value
    of a secret setting.
    """
    if kind not in KIND_NAMESPACES:
        return ["kind '%s' is not one of %s." % (kind, ", ".join(KIND_NAMESPACES))]
    if not isinstance(settings, dict):
        return ["settings must be a mapping of ServiceControl setting keys to values."]
    problems = []
    parsed_version = _version(version)
    if version is not None and parsed_version is None and str(version).strip().lower() not in UNKNOWN_VERSIONS:
        problems.append("version '%s' is not a ServiceControl version such as %s." % (version, BASELINE))
    problems += _duplicates(settings)
    validate_config = _validate_config(kind, settings)
    values = {}
    for key, value in settings.items():
        setting, key_problems = _check_key(kind, key, parsed_version)
        problems += key_problems
        if setting is None or value is None:
            continue
        value_problems, parsed = _check_value(setting, value, validate_config)
        problems += value_problems
        if not value_problems:
            values[setting.key] = parsed
    for rule in RULES[kind]:
        for key, reason in rule(kind, KIND_NAMESPACES[kind], values, check_required):
            problems.append("setting %s: ServiceControl refuses to start: %s" % (key, reason))
    if check_required:
        problems += _missing(kind, settings)
    return problems


# -- presentation ------------------------------------------------------------------------------------------------


def _default_text(setting):
    if setting.required:
        return "required"
    if setting.default_text:
        return setting.default_text
    if setting.default is None or callable(setting.default):
        return ""
    if setting.type == "timespan":
        return "`%s` (%s)" % (setting.default, human_seconds(parse(setting, setting.default)))
    if setting.default == "":
        return "empty"
    return "`%s`" % text_of(setting.default)


def _validation_text(setting):
    parts = []
    if setting.minimum is not None or setting.maximum is not None:
        low = _limit(setting, setting.minimum) if setting.minimum is not None else ""
        high = _limit(setting, setting.maximum) if setting.maximum is not None else ""
        parts.append(
            "%s to %s" % (low, high) if low and high else ("at least %s" % low if low else "at most %s" % high)
        )
    if setting.choices:
        parts.append("one of " + ", ".join(setting.choices))
    if (setting.reasons or {}).get("empty"):
        parts.append("not empty")
    if setting.type == "json":
        parts.append("JSON")
    if setting.type == "uri":
        parts.append("absolute URI")
    if setting.gated:
        parts.append("unless ValidateConfig=false")
    if setting.replaced:
        parts.append("else ignored and the default used" if parts else "unreadable: ignored, the default used")
    if setting.secret:
        parts.append("secret")
    return "; ".join(parts)


def describe(setting):
    """One setting as the catalogue shows it: ``{key, environment, type, default, validation, since, applies,
    note}``, all text."""
    names = environment_names(setting.key, kind=setting.kind)
    if setting.config_only:
        environment = "(.exe.config only)"
    else:
        shown = [names[0], *names[2:3]]
        environment = " / ".join("`%s`" % n for n in shown)
    return {
        "key": setting.key,
        "environment": environment,
        "type": setting.type,
        "default": _default_text(setting),
        "validation": _validation_text(setting),
        "since": setting.since or "",
        "applies": setting.applies or "",
        "note": setting.note or "",
        "alias_of": setting.alias_of or "",
    }
