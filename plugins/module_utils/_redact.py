# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""The one secret redactor: every message, diff and returned value passes through it before it leaves.

A ``Redactor`` knows the secret values of one connection (a connection string's password or account key,
a bearer token, header values) and removes them, plus what is secret by its shape wherever it appears:
``user:password@`` in URLs and ``sig=`` in SAS query strings.
"""

from __future__ import annotations

import json
import re

MASK = "********"
#: Values shorter than this are not masked: masking "1" or "on" would mangle status codes and words while
#: protecting nothing. Connection-string passwords that short are not worth protecting this way either.
MIN_SECRET_LENGTH = 4

_USERINFO = re.compile(r"(?<=://)[^/?#@\s]*@")
_SAS_SIGNATURE = re.compile(r"(?i)(\bsig=)[^&\s;\"']+")


def strip_userinfo(text):
    """Remove ``user:password@`` from every URL in ``text``."""
    if not text:
        return text
    return _USERINFO.sub("", text)


class Redactor:
    """Masks known secret values and secret-shaped text in strings and JSON-like values."""

    def __init__(self, secrets=()):
        self._secrets = []
        self.add(*secrets)

    def add(self, *values):
        """Register more secret values (None, empty and very short values are ignored)."""
        for value in values:
            if value is None:
                continue
            text = str(value)
            if len(text) >= MIN_SECRET_LENGTH and text not in self._secrets:
                self._secrets.append(text)
        # Longest first, so a secret that contains another is masked whole.
        self._secrets.sort(key=len, reverse=True)
        return self

    def __bool__(self):
        return bool(self._secrets)

    def text(self, text):
        """``text`` with every secret masked (None stays None)."""
        if text is None:
            return None
        text = strip_userinfo(str(text))
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return _SAS_SIGNATURE.sub(r"\1" + MASK, text)

    __call__ = text

    def value(self, value):
        """A JSON-like value (dict, list, str, number) with every string in it redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(item) for item in value]
        return value

    def json_text(self, value):
        """``value`` serialised to JSON, redacted (for bodies echoed in messages)."""
        return self.text(json.dumps(value, sort_keys=True))
