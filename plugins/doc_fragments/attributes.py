# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE doc fragment: for this collection's own modules only.

from __future__ import annotations


class ModuleDocFragment:
    # Base: every module declares these three; modules extend with the sub-fragments below.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - This assumes that the system controlled/queried by the module has not changed in a relevant way.
"""

    # Read-only modules (*_info).
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
"""

    ACTION_GROUP_API = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/servicecontrol.platform.api) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - servicecontrol.platform.api
"""

    ACTION_GROUP_TRANSPORT = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/servicecontrol.platform.transport) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - servicecontrol.platform.transport
"""
