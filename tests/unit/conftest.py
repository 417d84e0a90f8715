# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep module tests in a module context.

Importing controller code (ansible.errors, ansible.plugins: the filter and action-plugin tests do) switches
ansible.module_utils._internal to the controller for the whole process, after which a module's warnings no
longer land in its result. This captures the module-side switches before any test file is collected and
restores them around every test under tests/unit/plugins/modules and module_utils.
"""

from __future__ import annotations

import pytest
from ansible.module_utils import _internal

_SWITCHES = ("is_controller", "get_controller_serialize_map", "import_controller_module")
_MODULE_SIDE = {name: getattr(_internal, name) for name in _SWITCHES}


@pytest.fixture(autouse=True)
def module_context(request):
    if "/plugins/filter/" in str(request.node.fspath) or "/plugins/action/" in str(request.node.fspath):
        yield
        return
    current = {name: getattr(_internal, name) for name in _SWITCHES}
    for name, value in _MODULE_SIDE.items():
        setattr(_internal, name, value)
    try:
        yield
    finally:
        for name, value in current.items():
            setattr(_internal, name, value)
