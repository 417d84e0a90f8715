# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""The one parser for ``Key=Value;Key2=Value2`` connection strings, with the rules ServiceControl applies.

ServiceControl and the NServiceBus transports read these strings with .NET's ``DbConnectionStringBuilder``
(directly, or through ``SqlConnectionStringBuilder`` / ``NpgsqlConnectionStringBuilder``), see
docs/reference/transports.md §10.1. Its rules, implemented here:

* pairs are separated by ``;``; empty pairs (``;;``, a trailing ``;``) are ignored;
* whitespace around keys and values is dropped; keys compare case-insensitively; a later key wins;
* ``==`` inside a key stands for one ``=``;
* a value may be quoted with ``"`` or ``'``; inside, the quote is written twice (``""``) and ``;`` and ``=``
  are plain characters; after the closing quote only whitespace may follow before the next ``;``.

Errors never echo the string (it may hold a password): they give the part's position.

The Azure SDKs parse their connection strings naively (split on ``;``, then on the first ``=``), so a value
that really contains ``;`` cannot reach them; ``sdk_string()`` refuses it by key instead of cutting it apart.
"""

from __future__ import annotations

#: Keys whose values are secrets, lower case, across every transport's connection string.
SECRET_KEYS = frozenset(
    (
        "password",
        "pwd",
        "psw",
        "managementapipassword",
        "accountkey",
        "sharedaccesskey",
        "sharedaccesssignature",
        "secretaccesskey",
        "sessiontoken",
    )
)


class ConnectionStringError(ValueError):
    """A connection string that does not follow the Key=Value rules. The message holds no part of it."""


class ConnectionString:
    """A parsed connection string: the pairs in order, looked up case-insensitively."""

    def __init__(self, pairs):
        #: [(key as written, value unquoted)], in order, duplicates kept.
        self.pairs = list(pairs)
        self._lookup = {}
        for key, value in self.pairs:
            self._lookup[key.lower()] = value

    def __contains__(self, key):
        return key.lower() in self._lookup

    def __len__(self):
        return len(self._lookup)

    def get(self, key, default=None):
        return self._lookup.get(key.lower(), default)

    def lowered(self):
        """{lower-cased key: value}, the last occurrence of each key."""
        return dict(self._lookup)

    def without(self, *keys):
        """A copy without the given keys (any case)."""
        dropped = {key.lower() for key in keys}
        return ConnectionString((k, v) for k, v in self.pairs if k.lower() not in dropped)

    def secrets(self):
        """The values of the secret keys (for the redactor)."""
        return [value for key, value in self.pairs if key.lower() in SECRET_KEYS and value]

    def format(self):
        """The string in DbConnectionStringBuilder's form: values quoted where the rules require it."""
        return ";".join("%s=%s" % (key.replace("=", "=="), quote_value(value)) for key, value in self._last_pairs())

    def sdk_string(self, what):
        """The plain ``Key=Value;...`` form a naive parser (the Azure SDKs) reads, or a clear error.

        ``what`` names the consumer in the error, e.g. "the Azure Storage SDK".
        """
        parts = []
        for key, value in self._last_pairs():
            if ";" in value:
                raise ConnectionStringError(
                    "the value of '%s' in the connection string contains ';', which %s cannot read (it splits the "
                    "string on every ';'); remove the ';' from that value" % (key, what)
                )
            parts.append("%s=%s" % (key, value))
        return ";".join(parts)

    def _last_pairs(self):
        """One pair per key, like the builder's dictionary: first position and spelling, last value."""
        first = {}
        for key, _value in self.pairs:
            first.setdefault(key.lower(), key)
        return [(key, self._lookup[lowered]) for lowered, key in first.items()]


def quote_value(value):
    """Quote a value the way DbConnectionStringBuilder writes it back (only when needed)."""
    text = str(value)
    needs_quotes = (
        text != text.strip() or any(char in text for char in ";'\"") or (text[:1] in ("'", '"')) or "\x00" in text
    )
    if not needs_quotes:
        return text
    if '"' in text and "'" not in text:
        return "'%s'" % text
    return '"%s"' % text.replace('"', '""')


def parse_connection_string(text, sample="Key=Value;Key2=Value2"):
    """Parse ``text``; raise ConnectionStringError naming the position of a malformed part.

    ``sample`` is shown in the error as the expected form.
    """
    if text is None or not str(text).strip():
        raise ConnectionStringError("the connection string is empty")
    text = str(text)
    pairs = []
    position, part = 0, 0
    length = len(text)
    while position < length:
        part += 1
        key, position = _read_key(text, position, length)
        if key is None:  # an empty pair
            continue
        if key is False:
            raise ConnectionStringError(
                "part %d has no 'Key=Value' form; write it as ServiceControl expects, e.g. %s" % (part, sample)
            )
        value, position = _read_value(text, position, length, part)
        if not key:
            raise ConnectionStringError("part %d has an empty key; write it as %s" % (part, sample))
        pairs.append((key, value))
    return ConnectionString(pairs)


def _read_key(text, position, length):
    """Read up to the '=' of one pair. Returns (key, position after '='), (None, pos) for an empty pair,
    or (False, pos) when the part has no '='."""
    chars = []
    while position < length:
        char = text[position]
        if char == ";":
            if "".join(chars).strip():
                return False, position
            return None, position + 1
        if char == "=":
            if position + 1 < length and text[position + 1] == "=":
                chars.append("=")
                position += 2
                continue
            return "".join(chars).strip(), position + 1
        chars.append(char)
        position += 1
    if "".join(chars).strip():
        return False, position
    return None, position


def _read_value(text, position, length, part):
    """Read one value after '='. Returns (value, position after the pair's ';')."""
    while position < length and text[position] in " \t\r\n":
        position += 1
    if position < length and text[position] in "\"'":
        quote = text[position]
        position += 1
        chars = []
        while True:
            if position >= length:
                raise ConnectionStringError("part %d has a quoted value without its closing quote" % part)
            char = text[position]
            if char == quote:
                if position + 1 < length and text[position + 1] == quote:
                    chars.append(quote)
                    position += 2
                    continue
                position += 1
                break
            chars.append(char)
            position += 1
        while position < length and text[position] in " \t\r\n":
            position += 1
        if position < length and text[position] != ";":
            raise ConnectionStringError(
                "part %d has characters after its quoted value; quote the whole value, writing a quote inside it "
                "twice" % part
            )
        return "".join(chars), position + 1
    end = text.find(";", position)
    if end < 0:
        end = length
    return text[position:end].strip(), end + 1
