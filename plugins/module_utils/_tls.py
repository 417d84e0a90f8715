# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""TLS settings, once, for the API client and every transport.

Every network client in this collection takes the same four options: ``validate_certs`` (on by default),
``ca_path`` (a PEM file *or* a directory of CA certificates), ``client_cert`` and ``client_key``. The
libraries underneath want them in different shapes; ``TlsSettings`` checks them once, before any I/O, and
hands each library the shape it takes:

* ``ssl_context()`` - for httpx (ServiceControl's API, the RabbitMQ management API): an ``SSLContext``, or
  ``True``/``False`` when the library's own default is right;
* ``ca_file()`` - for libraries that accept a CA *file* only (botocore, libpq's ``sslrootcert``): the file
  itself, or, for a directory, one bundle file made of the directory's certificates;
* ``requests_verify()`` / ``requests_cert()`` - for azure-core's requests transport.

Errors are ``TlsConfigurationError`` (a ``ValueError``); callers wrap them in their own error type. Messages
name the option and the path, never a secret (paths are not secrets).
"""

from __future__ import annotations

import atexit
import os
import ssl
import tempfile

#: File name endings read from a ``ca_path`` directory when a library needs one bundle file.
CERTIFICATE_SUFFIXES = (".pem", ".crt", ".cer")
_PEM_BEGIN = "-----BEGIN CERTIFICATE-----"


class TlsConfigurationError(ValueError):
    """The TLS options are inconsistent or name files that cannot be used."""


class TlsSettings:
    """The checked TLS options of one connection."""

    def __init__(self, validate_certs=True, ca_path=None, client_cert=None, client_key=None):
        self.validate_certs = validate_certs is not False
        self.ca_path = ca_path or None
        self.client_cert = client_cert or None
        self.client_key = client_key or None
        self._bundle = None
        if self.client_key and not self.client_cert:
            raise TlsConfigurationError(
                "client_key is set without client_cert; set both, or client_cert alone for a PEM file that holds "
                "the certificate and its key"
            )
        for option, path in (("ca_path", self.ca_path), ("client_cert", self.client_cert)):
            if path and not os.path.exists(path):
                raise TlsConfigurationError(
                    "cannot load the TLS files: %s '%s' does not exist; give the path of a PEM file" % (option, path)
                )
        if self.client_key and not os.path.isfile(self.client_key):
            raise TlsConfigurationError(
                "cannot load the TLS files: client_key '%s' is not a file; give the path of a PEM key" % self.client_key
            )
        if self.client_cert and not os.path.isfile(self.client_cert):
            raise TlsConfigurationError(
                "cannot load the TLS files: client_cert '%s' is not a file; give the path of a PEM file"
                % self.client_cert
            )

    @classmethod
    def from_options(cls, options):
        """From a dict holding (some of) validate_certs, ca_path, client_cert, client_key."""
        options = options or {}
        return cls(
            validate_certs=options.get("validate_certs", True),
            ca_path=options.get("ca_path"),
            client_cert=options.get("client_cert"),
            client_key=options.get("client_key"),
        )

    @property
    def ca_is_directory(self):
        return bool(self.ca_path) and os.path.isdir(self.ca_path)

    # -- shapes for the libraries ---------------------------------------------------------------------
    def ssl_context(self):
        """``SSLContext`` for the options, or ``True`` (library default trust store) / ``False`` (no checks)."""
        if not self.validate_certs and not self.client_cert:
            return False
        if self.validate_certs and not self.ca_path and not self.client_cert:
            return True
        try:
            if self.validate_certs and self.ca_path:
                if self.ca_is_directory:
                    context = ssl.create_default_context(capath=self.ca_path)
                else:
                    context = ssl.create_default_context(cafile=self.ca_path)
            else:
                context = ssl.create_default_context()
            if not self.validate_certs:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if self.client_cert:
                context.load_cert_chain(self.client_cert, self.client_key)
        except (OSError, ssl.SSLError) as exc:
            raise TlsConfigurationError(
                "cannot load the TLS files (ca_path, client_cert, client_key): %s" % _first_line(str(exc))
            ) from None
        return context

    def ca_file(self):
        """A CA bundle *file* for ``ca_path`` (None when unset): the file itself, or one made from a directory."""
        if not self.ca_path:
            return None
        if not self.ca_is_directory:
            return self.ca_path
        if self._bundle is None:
            self._bundle = _bundle_directory(self.ca_path)
        return self._bundle

    def requests_verify(self):
        """The ``verify`` value of requests-style clients (botocore, azure-core): False, True or a CA file."""
        if not self.validate_certs:
            return False
        return self.ca_file() or True

    def requests_cert(self):
        """The ``cert`` value of requests-style clients: None, the certificate file, or (certificate, key)."""
        if not self.client_cert:
            return None
        return (self.client_cert, self.client_key) if self.client_key else self.client_cert


def _bundle_directory(directory):
    """Concatenate the PEM certificates of a directory into one temporary file (removed at exit)."""
    pems = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        # OpenSSL's hashed links (<hash>.0) point at the same certificates; read the named files instead,
        # and the links only when the directory holds nothing else.
        if not os.path.isfile(path):
            continue
        if not name.lower().endswith(CERTIFICATE_SUFFIXES) and not _is_hash_link(name):
            continue
        try:
            with open(path, encoding="ascii", errors="replace") as handle:
                text = handle.read()
        except OSError as exc:
            raise TlsConfigurationError("cannot read %s in ca_path: %s" % (path, exc.strerror)) from None
        if _PEM_BEGIN in text:
            pems.append((name, text.strip() + "\n"))
    named = [text for name, text in pems if not _is_hash_link(name)]
    chosen = named or [text for _name, text in pems]
    if not chosen:
        raise TlsConfigurationError(
            "ca_path '%s' is a directory without PEM certificates (*.pem, *.crt, *.cer or hashed links)" % directory
        )
    handle, bundle = tempfile.mkstemp(prefix="servicecontrol-ca-", suffix=".pem")
    with os.fdopen(handle, "w", encoding="ascii") as output:
        output.write("".join(dict.fromkeys(chosen)))
    atexit.register(_remove, bundle)
    return bundle


def _is_hash_link(name):
    stem, _dot, suffix = name.rpartition(".")
    return len(stem) == 8 and suffix.isdigit() and all(c in "0123456789abcdef" for c in stem.lower())


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _first_line(text):
    text = (text or "").strip()
    return text.splitlines()[0].strip() if text else ""
