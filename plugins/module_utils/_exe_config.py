# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""Read and edit ``ServiceControl.exe.config`` (and the Audit/Monitoring ones) on the controller.

On Windows, settings live in the ``appSettings`` of the instance's ``.exe.config`` and the transport connection
string in ``connectionStrings`` (``NServiceBus/Transport``); a change is an edit of that file followed by a
service restart (docs/reference/servicecontrol.md §1.6). The installer rewrites only the keys it knows and
keeps the rest, so this editor does the same:

* the file is edited as text: comments, unknown keys, key order, indentation and line endings stay as they
  were; only the ``value`` (or ``connectionString``) attribute of the elements that change is rewritten,
  and new elements are added before the closing tag, indented like their siblings;
* ``<add>`` elements inside comments are never read or touched;
* values are XML-escaped (``RemoteInstances`` is JSON, full of ``"``), and keys are matched
  case-insensitively, as .NET's ``NameValueCollection`` does; the last of two equal keys wins, as in .NET.

The host only stores the file this computes (decide on the controller, act thinly on the host).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, unescape

TRANSPORT_CONNECTION_STRING = "NServiceBus/Transport"
#: What a fresh .exe.config holds before the first settings are written.
EXE_CONFIG_TEMPLATE = '<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n  <appSettings />\n</configuration>\n'

_COMMENT = re.compile(r"<!--.*?-->", re.S)
_ADD = re.compile(r"<add\b(?P<attributes>[^>]*?)/\s*>", re.S)
_ATTRIBUTE = re.compile(r"""(?P<name>[\w:.-]+)\s*=\s*(?P<quote>["'])(?P<value>.*?)(?P=quote)""", re.S)
_XML_ENTITIES = {'"': "&quot;", "'": "&apos;"}


class ExeConfigError(ValueError):
    """The file is not a .NET configuration file this editor can change safely."""


def _masked(text):
    """``text`` with every comment replaced by spaces of the same length (offsets stay valid)."""
    return _COMMENT.sub(lambda match: " " * len(match.group(0)), text)


def _section(text, name):
    """(start, end, self_closing) of ``<name>...</name>`` directly in the file, or None; comments ignored."""
    masked = _masked(text)
    opening = re.search(r"<%s\b[^>]*?(/?)>" % name, masked)
    if not opening:
        return None
    if opening.group(1) == "/":
        return opening.start(), opening.end(), True
    closing = masked.find("</%s>" % name, opening.end())
    if closing < 0:
        raise ExeConfigError("the <%s> element is not closed" % name)
    return opening.end(), closing, False


def _check_xml(text):
    try:
        # The file is the operator's own instance configuration, read from their host; expat (2.4.1+) also
        # bounds entity expansion, so the standard parser is safe here.
        root = ET.fromstring(text.encode("utf-8") if isinstance(text, str) else text)  # noqa: S314
    except ET.ParseError as exc:
        raise ExeConfigError("the file is not well-formed XML (%s)" % exc) from None
    if root.tag != "configuration":
        raise ExeConfigError("the root element is <%s>, not <configuration>" % root.tag)


def _entries(text, section, key_attribute, value_attribute):
    """[(key, value, start, end, value_span)] of the ``<add>`` elements of a section, in file order."""
    span = _section(text, section)
    if span is None or span[2]:
        return []
    start, end, _closing = span
    masked = _masked(text)
    found = []
    for match in _ADD.finditer(masked, start, end):
        attributes = {
            m.group("name"): (m.group("value"), match.start("attributes") + m.start("value"))
            for m in _ATTRIBUTE.finditer(match.group("attributes"))
        }
        if key_attribute not in attributes:
            continue
        key = unescape(attributes[key_attribute][0], _UNESCAPE)
        value_info = attributes.get(value_attribute)
        value = unescape(value_info[0], _UNESCAPE) if value_info else None
        value_span = (value_info[1], value_info[1] + len(value_info[0])) if value_info else None
        found.append((key, value, match.start(), match.end(), value_span))
    return found


_UNESCAPE = {"&quot;": '"', "&apos;": "'"}


def read_config(text):
    """``{"app_settings": {key: value}, "connection_strings": {name: value}}`` of a config file.

    Later duplicates win, as in .NET; keys keep the spelling of their last occurrence.
    """
    _check_xml(text)
    return {
        "app_settings": _collapse(_entries(text, "appSettings", "key", "value")),
        "connection_strings": _collapse(_entries(text, "connectionStrings", "name", "connectionString")),
    }


def _collapse(entries):
    result = {}
    for key, value, *_rest in entries:
        for existing in [k for k in result if k.lower() == key.lower()]:
            del result[existing]
        result[key] = value
    return result


def escape_value(value):
    """An attribute value, XML-escaped for a double-quoted attribute."""
    return escape(str(value), _XML_ENTITIES)


def update_config(text, app_settings=None, connection_strings=None):
    """Apply changes to a config file's text; returns ``(new_text, changes)``.

    ``app_settings`` / ``connection_strings`` map keys to the wanted value, or to None to remove the key.
    ``changes`` lists ``{"section", "key", "before", "after"}`` for every key whose value changes (values
    as given, unmasked: callers mask secrets before showing them). The text is unchanged when nothing
    differs, so a second run changes nothing.
    """
    _check_xml(text)
    changes = []
    for section, key_attribute, value_attribute, wanted in (
        ("appSettings", "key", "value", app_settings or {}),
        ("connectionStrings", "name", "connectionString", connection_strings or {}),
    ):
        for key, value in wanted.items():
            text, change = _set(text, section, key_attribute, value_attribute, key=key, value=value)
            if change:
                changes.append(change)
    _check_xml(text)
    return text, changes


def _matching(text, section, key_attribute, value_attribute, *, key):
    return [e for e in _entries(text, section, key_attribute, value_attribute) if e[0].lower() == key.lower()]


def _set(text, section, key_attribute, value_attribute, *, key, value):
    entries = _matching(text, section, key_attribute, value_attribute, key=key)
    before = entries[-1][1] if entries else None
    after = None if value is None else str(value)
    # Report the key as the file spells it (keys compare case-insensitively, as in .NET).
    change = {"section": section, "key": entries[-1][0] if entries else key, "before": before, "after": after}
    if after is None:
        return (_remove(text, entries), change) if entries else (text, None)
    duplicates = len(entries) > 1
    if duplicates:
        # Earlier duplicates are shadowed by the last one anyway; drop them so the file says one thing.
        text = _remove(text, entries[:-1])
        entries = _matching(text, section, key_attribute, value_attribute, key=key)
    if not entries:
        return _insert(text, section, key_attribute, value_attribute, key=key, value=after), change
    last = entries[-1]
    if before != after:
        if last[4] is not None:
            value_start, value_end = last[4]
            text = text[:value_start] + escape_value(after) + text[value_end:]
        else:  # an <add key="..."/> without a value attribute
            close = text.rfind("/", last[2], last[3])
            text = text[:close].rstrip() + ' %s="%s" ' % (value_attribute, escape_value(after)) + text[close:]
    return text, (change if before != after or duplicates else None)


def _remove(text, entries):
    """Remove the given elements (with their line when they stand alone on it), last first."""
    for _key, _value, element_start, element_end, _span in sorted(entries, key=lambda entry: entry[2], reverse=True):
        cut_start, cut_end = element_start, element_end
        line_start = text.rfind("\n", 0, element_start) + 1
        line_end = text.find("\n", element_end)
        rest = text[element_end : line_end if line_end >= 0 else len(text)]
        if text[line_start:element_start].strip() == "" and rest.strip() == "":
            cut_start, cut_end = line_start, (line_end + 1 if line_end >= 0 else len(text))
        text = text[:cut_start] + text[cut_end:]
    return text


def _insert(text, section, key_attribute, value_attribute, *, key, value):
    element = '<add %s="%s" %s="%s" />' % (key_attribute, escape_value(key), value_attribute, escape_value(value))
    newline = "\r\n" if "\r\n" in text else "\n"
    span = _section(text, section)
    if span is None:
        # No such section yet: add it as the first child of <configuration>.
        masked = _masked(text)
        opening = re.search(r"<configuration\b[^>]*>", masked)
        indent = _child_indent(text, opening.end())
        block = "%s%s<%s>%s%s%s%s%s</%s>" % (
            newline,
            indent,
            section,
            newline,
            indent * 2 or "  ",
            element,
            newline,
            indent,
            section,
        )
        return text[: opening.end()] + block + text[opening.end() :]
    start, end, self_closing = span
    if self_closing:
        tag_start = text.rfind("<", 0, start + 1)
        indent = _line_indent(text, tag_start)
        block = "<%s>%s%s  %s%s%s</%s>" % (section, newline, indent, element, newline, indent, section)
        return text[:tag_start] + block + text[end:]
    entries = _entries(text, section, key_attribute, value_attribute)
    if entries:
        indent = _line_indent(text, entries[-1][2])
        insert_at = entries[-1][3]
        return text[:insert_at] + newline + indent + element + text[insert_at:]
    closing_indent = _line_indent(text, end)
    inner = closing_indent + "  "
    before_close = text[:end].rstrip(" \t")
    return (
        before_close
        + ("" if before_close.endswith(("\n", "\r")) else newline)
        + inner
        + element
        + newline
        + closing_indent
        + text[end:]
    )


def _line_indent(text, position):
    line_start = text.rfind("\n", 0, position) + 1
    prefix = text[line_start:position]
    return prefix if prefix.strip() == "" else ""


def _child_indent(text, position):
    match = re.match(r"\s*?\n([ \t]*)<", text[position:])
    return match.group(1) if match else "  "
