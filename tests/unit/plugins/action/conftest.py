# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the action plugin tests."""

from __future__ import annotations

import importlib

import pytest
from ansible.module_utils import _internal

#: What importing controller code (an action plugin imports ansible.plugins) switches for the whole process.
CONTROLLER_SWITCHES = ("is_controller", "get_controller_serialize_map", "import_controller_module")


@pytest.fixture
def import_action():
    """Imports an action plugin by name and puts the module_utils controller switches back afterwards, so the
    module tests that run later in this process still see a module context (warnings in the result)."""
    saved = {name: getattr(_internal, name) for name in CONTROLLER_SWITCHES}
    try:
        yield lambda name: importlib.import_module("ansible_collections.servicecontrol.platform.plugins.action." + name)
    finally:
        for name, value in saved.items():
            setattr(_internal, name, value)
