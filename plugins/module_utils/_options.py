# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""Connection options every network-facing module shares: one default, one type, one spec.

The API modules (``servicecontrol.platform.connection`` doc fragment) and the transport modules
(``servicecontrol.platform.transport`` doc fragment) both take ``timeout`` in seconds as a float and the
TLS options that ``_tls.TlsSettings`` checks.
"""

from __future__ import annotations

#: Seconds to wait for a connection or a response, for every network call of a module run.
DEFAULT_TIMEOUT = 30.0

#: The TLS option names, as modules and transports take them.
TLS_OPTIONS = ("validate_certs", "ca_path", "client_cert", "client_key")


def timeout_argument_spec():
    return {"type": "float", "default": DEFAULT_TIMEOUT}


def tls_argument_spec():
    """validate_certs, ca_path, client_cert, client_key (a fresh dict each call)."""
    return {
        "validate_certs": {"type": "bool", "default": True},
        "ca_path": {"type": "path"},
        "client_cert": {"type": "path"},
        "client_key": {"type": "path", "no_log": False},
    }


def checked_timeout(value):
    """A positive float from a timeout option (None: the default), or ValueError saying what is wrong."""
    if value is None:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError("timeout must be a number of seconds, got %r" % (value,)) from None
    if seconds <= 0:
        raise ValueError("timeout must be a positive number of seconds, got %s" % value)
    return seconds
