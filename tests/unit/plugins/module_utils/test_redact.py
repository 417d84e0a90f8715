# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one secret redactor."""

from __future__ import annotations

from ansible_collections.servicecontrol.platform.plugins.module_utils._redact import MASK, Redactor, strip_userinfo


def test_known_secrets_are_masked_longest_first():
    redactor = Redactor(["secret", "secret-and-more"])
    assert redactor.text("a secret-and-more b secret") == "a %s b %s" % (MASK, MASK)


def test_short_and_empty_values_are_not_secrets():
    redactor = Redactor([None, "", "on", "123"])
    assert not redactor
    assert redactor("status 123 on") == "status 123 on"


def test_userinfo_and_sas_signatures_are_masked_without_being_known():
    redactor = Redactor()
    text = "GET https://user:pw@host/q?sv=1&sig=AbC%2Bd&se=2 failed; SharedAccessSignature sr=x&sig=zz;"
    assert redactor(text) == "GET https://host/q?sv=1&sig=%s&se=2 failed; SharedAccessSignature sr=x&sig=%s;" % (
        MASK,
        MASK,
    )
    assert strip_userinfo("amqp://guest:guest@rabbit:5672/") == "amqp://rabbit:5672/"


def test_values_are_redacted_recursively_and_none_stays_none():
    redactor = Redactor().add("t0ken-value")
    body = {"message": "bad t0ken-value", "items": ["t0ken-value", 3, None], "t0ken-value": True}
    assert redactor.value(body) == {"message": "bad " + MASK, "items": [MASK, 3, None], MASK: True}
    assert redactor.text(None) is None
    assert MASK in redactor.json_text(body)
