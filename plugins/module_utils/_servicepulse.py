# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""Pointing ServicePulse and ServiceInsight at an Error instance (docs/reference/servicecontrol.md §3.3).

Decided here, on the controller; the servicepulse role only stores a file or re-creates a container.

* Standalone ServicePulse reads the Error instance's URL from ``app.constants.js``: from 1.20 on
  ``window.defaultConfig = {..., service_control_url: '<url>', monitoring_urls: ['<url>'], ...}``; before that the
  same ``service_control_url`` key inside an AngularJS ``scConfig`` constant (or ``SC.config`` in 1.1). ServicePulse's
  own installer rewrites only the quoted value of that key, and so does ``servicepulse_constants``.
* The browser prefers the ``?scu=`` query parameter, then what it stored from an earlier ``?scu=`` (localStorage), then
  ``app.constants.js``; so users who ever chose a URL must open a ``?scu=`` link once (``mu=`` does the same for the
  Monitoring instance).
* The ServicePulse container takes ``SERVICECONTROL_URL``; with its reverse proxy on (the default) the browser talks to
  the container's own ``/api/``.
* Integrated ServicePulse is served by the Error instance itself and always uses that instance.
* ServiceInsight is opened with ``si://<host>:<port>/api``.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

from ansible_collections.servicecontrol.platform.plugins.module_utils._topology import validate_topology


class ServicePulseError(ValueError):
    """A ServicePulse file or URL that cannot be used; the message says what and how to fix it."""


# The quoted value of a key, in single or double quotes, as ServicePulse's installer matches it
# (ExtractAndUpdateConstantsCommand): the key, a colon, a quote, the value, the same quote.
_SERVICE_CONTROL_URL = re.compile(r"""(\bservice_control_url\s*:\s*)(['"])([^'"\r\n]*)(\2)""")
_MONITORING_URLS = re.compile(r"""(\bmonitoring_urls\s*:\s*\[)([^\]]*)(\])""")
_UNSAFE = re.compile(r"""['"\\\s<>`]""")
_EXPECTED_SHAPE = (
    "ServicePulse 1.20 and later have window.defaultConfig = { ..., service_control_url: 'http://host:33333/api/', "
    "monitoring_urls: ['http://host:33633/'], ... }"
)


def _checked_url(url, what):
    text = str(url or "").strip()
    parsed = urlsplit(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ServicePulseError("%s '%s' is not an absolute http(s) URL (e.g. http://sc:33333/api/)." % (what, text))
    if _UNSAFE.search(text):
        raise ServicePulseError("%s '%s' contains quotes, spaces or backslashes; it cannot be written." % (what, text))
    return text


def api_url(service_control_url):
    """The Error instance's API address the way ServicePulse uses it: ending in ``/api/``.

    ServicePulse appends routes directly (``<url>errors?...``), and its container completes a URL with ``/`` and
    ``api/`` the same way.
    """
    text = _checked_url(service_control_url, "The ServiceControl URL")
    if urlsplit(text).query or urlsplit(text).fragment:
        raise ServicePulseError("The ServiceControl URL '%s' has a query or fragment; give the API address." % text)
    if not text.endswith("/"):
        text += "/"
    if not text.endswith("api/"):
        text += "api/"
    return text


def _monitoring_url(url):
    if url == "!":  # ServicePulse's value for "no Monitoring instance"
        return url
    text = _checked_url(url, "The Monitoring URL")
    return text if text.endswith("/") else text + "/"


def servicepulse_constants(content, service_control_url, monitoring_urls=None):
    """The new text of a standalone ServicePulse's app.constants.js: only the URL values change.

    ``monitoring_urls`` (a URL, ``!``, or a list of them), when given, replaces the ``monitoring_urls`` array.
    Refuses a file that does not look like ServicePulse's (no single quoted ``service_control_url``).
    """
    text = content if isinstance(content, str) else (content or b"").decode("utf-8")
    matches = list(_SERVICE_CONTROL_URL.finditer(text))
    if len(matches) != 1:
        found = "no" if not matches else "%d" % len(matches)
        raise ServicePulseError(
            "This does not look like ServicePulse's app.constants.js: it has %s service_control_url entry with a "
            "quoted URL, where %s. Check the path (<ServicePulse>/app/js/app.constants.js on Windows)."
            % (found, _EXPECTED_SHAPE)
        )
    url = api_url(service_control_url)
    match = matches[0]
    text = text[: match.start(3)] + url + text[match.end(3) :]
    if monitoring_urls is not None:
        urls = [monitoring_urls] if isinstance(monitoring_urls, str) else list(monitoring_urls)
        urls = [_monitoring_url(u) for u in urls]
        arrays = list(_MONITORING_URLS.finditer(text))
        if len(arrays) != 1:
            raise ServicePulseError(
                "This app.constants.js has %s monitoring_urls array, so the Monitoring URL cannot be set (ServicePulse "
                "before 1.20 has none); leave monitoring_urls unset." % ("no" if not arrays else len(arrays))
            )
        quote_char = match.group(2)
        value = ", ".join("%s%s%s" % (quote_char, u, quote_char) for u in urls)
        array = arrays[0]
        text = text[: array.start(2)] + value + text[array.end(2) :]
    return text


def _root(url):
    """The address a browser opens for a ServicePulse or an instance: scheme, host and path, ending in ``/``."""
    parsed = urlsplit(url)
    path = parsed.path if parsed.path.endswith("/") else parsed.path + "/"
    return urlunsplit((parsed.scheme, parsed.netloc, path, parsed.query, ""))


def _with_query(url, parameters):
    base = _root(url)
    query = "&".join("%s=%s" % (key, quote(value, safe=":/!")) for key, value in parameters)
    return base + ("&" if "?" in base else "?") + query


def serviceinsight_link(service_control_url):
    """The ``si://`` link that opens ServiceInsight connected to the instance: the API address without its scheme."""
    parsed = urlsplit(api_url(service_control_url))
    return "si://%s%s" % (parsed.netloc, parsed.path.rstrip("/"))


def _reverse_proxy(entry):
    return str((entry.get("env") or {}).get("ENABLE_REVERSE_PROXY", "true")).strip().lower() != "false"


def servicepulse_links(topology, service_control_url, monitoring_url=None, names=None):
    """Per ServicePulse of the topology: where users open it, the link that repoints their browser, ServiceInsight's.

    Each entry: ``name``, ``kind``, ``host``, ``service_control_url`` (the value ServicePulse is given),
    ``link`` (the ``?scu=`` link users open once; for integrated ServicePulse the instance's own root),
    ``serviceinsight`` (the ``si://`` link) and ``note``.
    """
    normalised = validate_topology(topology)
    url = api_url(service_control_url)
    entries = normalised["servicepulse"]
    if names:
        wanted = set(names)
        unknown = sorted(wanted - {e["name"] for e in entries})
        if unknown:
            raise ServicePulseError(
                "No ServicePulse named %s in the topology; it has: %s."
                % (", ".join(unknown), ", ".join(e["name"] for e in entries) or "none")
            )
        entries = [e for e in entries if e["name"] in wanted]
    links = []
    for entry in entries:
        parameters = []
        if entry["kind"] == "integrated":
            link = _root(url[: -len("api/")])
            note = (
                "Integrated ServicePulse is served by the Error instance itself "
                "(ServiceControl/EnableIntegratedServicePulse=true) and always uses it: nothing changes on "
                "ServicePulse; users open the instance's own address."
            )
        elif entry["kind"] == "container" and _reverse_proxy(entry):
            parameters.append(("scu", _root(entry["url"]) + "api/"))
            note = (
                "The container forwards its /api/ to SERVICECONTROL_URL; browsers that stored another URL "
                "return to the container's proxy with this link."
            )
        else:
            parameters.append(("scu", url))
            note = "Browsers remember the URL they last used; each user opens this link once."
        if entry["kind"] != "integrated":
            if monitoring_url is not None:
                parameters.append(("mu", _monitoring_url(monitoring_url)))
            link = _with_query(entry["url"], parameters)
        links.append(
            {
                "name": entry["name"],
                "kind": entry["kind"],
                "host": entry.get("host"),
                "service_control_url": url,
                "link": link,
                "serviceinsight": serviceinsight_link(url),
                "note": note,
            }
        )
    return links
