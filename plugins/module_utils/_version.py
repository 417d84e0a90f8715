# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""ServiceControl version numbers, as sent in the ``X-Particular-Version`` header.

ServiceControl sends its informational version without the ``+sha`` build suffix: ``6.19.2``,
``4.33.0`` or a prerelease such as ``6.20.0-alpha.3``. The remotes endpoint reports ``Unknown`` (or
``Missing``) when a remote did not answer with the header, and very old Monitoring builds fall back to
a four-part assembly version (``4.33.0.0``). ``Version`` orders these the way SemVer 2.0 does
(a prerelease sorts before its release) so features can be gated with ``version >= Version("4.33.0")``.
"""

from __future__ import annotations

import functools
import re

_VERSION_RE = re.compile(
    r"""^\s*v?
    (?P<release>\d+(?:\.\d+){0,3})
    (?:-(?P<prerelease>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?
    (?:\+[0-9A-Za-z.-]*)?
    \s*$""",
    re.VERBOSE,
)

#: Placeholders ServiceControl uses where it has no version to report.
UNKNOWN_VERSIONS = frozenset(("unknown", "missing", ""))


@functools.total_ordering
class Version:
    """A comparable ServiceControl version. Build with ``Version("6.19.2")``; invalid text raises ValueError."""

    __slots__ = ("_key", "prerelease", "release", "text")

    def __init__(self, text):
        if isinstance(text, Version):
            text = text.text
        if not isinstance(text, str):
            raise ValueError("version must be a string such as '6.19.2', got %s" % type(text).__name__)
        match = _VERSION_RE.match(text)
        if not match:
            raise ValueError("'%s' is not a ServiceControl version (expected e.g. '6.19.2' or '6.20.0-alpha.3')" % text)
        numbers = [int(part) for part in match.group("release").split(".")]
        # 6.19 and 6.19.0 are the same release; pad to major.minor.patch[.revision].
        while len(numbers) < 3:
            numbers.append(0)
        while len(numbers) > 3 and numbers[-1] == 0:
            numbers.pop()
        self.release = tuple(numbers)
        prerelease = match.group("prerelease")
        self.prerelease = tuple(prerelease.split(".")) if prerelease else ()
        self.text = text.strip()
        self._key = (self.release, _prerelease_key(self.prerelease))

    @property
    def major(self):
        return self.release[0]

    @property
    def minor(self):
        return self.release[1]

    @property
    def patch(self):
        return self.release[2]

    @property
    def is_prerelease(self):
        return bool(self.prerelease)

    def __str__(self):
        return self.text

    def __repr__(self):
        return "Version(%r)" % self.text

    def __eq__(self, other):
        other = _coerce(other)
        if other is NotImplemented:
            return NotImplemented
        return self._key == other._key

    def __lt__(self, other):
        other = _coerce(other)
        if other is NotImplemented:
            return NotImplemented
        return self._key < other._key

    def __hash__(self):
        return hash(self._key)


def _prerelease_key(identifiers):
    # SemVer 2.0 precedence: no prerelease sorts after any prerelease; numeric identifiers compare
    # numerically and before alphanumeric ones; a longer list wins when all shared fields are equal.
    if not identifiers:
        return (1, ())
    parts = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in identifiers)
    return (0, parts)


def _coerce(other):
    if isinstance(other, Version):
        return other
    if isinstance(other, str):
        return Version(other)
    return NotImplemented


def parse_version(text):
    """Return a Version, or None when ``text`` is missing, a placeholder such as ``Unknown``, or not a version."""
    if text is None or not isinstance(text, str) or text.strip().lower() in UNKNOWN_VERSIONS:
        return None
    try:
        return Version(text)
    except ValueError:
        return None
