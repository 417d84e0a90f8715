# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one TLS helper: a CA file or directory, client certificates, the verify flag, for every library."""

from __future__ import annotations

import os
import ssl

import certifi
import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils._tls import TlsConfigurationError, TlsSettings

BEGIN = "-----BEGIN CERTIFICATE-----"


def certificates(count):
    """The first ``count`` real CA certificates of the certifi bundle, as PEM texts."""
    text = open(certifi.where(), encoding="ascii").read()
    pems = [
        BEGIN + part.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
        for part in text.split(BEGIN)[1:]
    ]
    return pems[:count]


@pytest.fixture
def ca_directory(tmp_path):
    directory = tmp_path / "cas"
    directory.mkdir()
    first, second = certificates(2)
    (directory / "one.pem").write_text(first, encoding="ascii")
    (directory / "two.crt").write_text(second, encoding="ascii")
    (directory / "README.txt").write_text("not a certificate", encoding="ascii")
    return directory


def test_defaults_verify_with_the_library_trust_store():
    settings = TlsSettings()
    assert settings.ssl_context() is True
    assert settings.requests_verify() is True
    assert settings.requests_cert() is None
    assert settings.ca_file() is None


def test_validate_certs_false_turns_every_shape_off():
    settings = TlsSettings(validate_certs=False, ca_path=certifi.where())
    assert settings.ssl_context() is False
    assert settings.requests_verify() is False


def test_ca_file_is_used_as_it_is():
    settings = TlsSettings(ca_path=certifi.where())
    context = settings.ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert settings.ca_file() == certifi.where()
    assert settings.requests_verify() == certifi.where()


def test_ca_directory_becomes_one_bundle_for_file_only_libraries(ca_directory):
    settings = TlsSettings(ca_path=str(ca_directory))
    bundle = settings.ca_file()
    assert bundle != str(ca_directory) and os.path.isfile(bundle)
    text = open(bundle, encoding="ascii").read()
    assert text.count(BEGIN) == 2
    assert settings.requests_verify() == bundle
    assert settings.ca_file() == bundle  # made once per run
    # The bundle is a real CA file: OpenSSL loads both certificates from it.
    assert len(ssl.create_default_context(cafile=bundle).get_ca_certs()) == 2
    # httpx gets the directory itself, as OpenSSL's capath.
    assert isinstance(settings.ssl_context(), ssl.SSLContext)


def test_directory_without_certificates_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("x", encoding="ascii")
    with pytest.raises(TlsConfigurationError, match="without PEM certificates"):
        TlsSettings(ca_path=str(tmp_path)).ca_file()


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"ca_path": "/nonexistent/ca.pem"}, "ca_path '/nonexistent/ca.pem' does not exist"),
        ({"client_key": "/etc/key.pem"}, "client_key is set without client_cert"),
        ({"client_cert": "/nonexistent/client.pem"}, "client_cert '/nonexistent/client.pem' does not exist"),
    ],
)
def test_bad_options_fail_before_any_connection(options, complaint):
    with pytest.raises(TlsConfigurationError, match=complaint):
        TlsSettings.from_options(options)


def test_client_certificate_shapes(tmp_path):
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_text("cert", encoding="ascii")
    key.write_text("key", encoding="ascii")
    assert TlsSettings(client_cert=str(cert)).requests_cert() == str(cert)
    assert TlsSettings(client_cert=str(cert), client_key=str(key)).requests_cert() == (str(cert), str(key))
    with pytest.raises(TlsConfigurationError, match="cannot load the TLS files"):
        TlsSettings(client_cert=str(cert)).ssl_context()  # not a PEM certificate
