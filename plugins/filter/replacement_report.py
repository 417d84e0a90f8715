# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report of servicecontrol.platform.replace_error_instance (see replacement_report.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.servicecontrol.platform.plugins.module_utils._replacement_report import replacement_markdown


def _replacement_report(state, plan, check_mode=False):
    try:
        return replacement_markdown(state, plan, check_mode)
    except (KeyError, TypeError) as exc:
        message = "Cannot write the replacement report: missing %s in the plan or state." % exc
        raise AnsibleFilterError(message) from None


class FilterModule:
    def filters(self):
        return {"replacement_report": _replacement_report}
