# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: not a public API; other collections must not import it.
"""Every setting a ServiceControl 6.19.2 Monitoring instance reads.

Read at tag 6.19.2 in ``src/ServiceControl.Monitoring/Settings.cs`` and the shared
``src/ServiceControl.Infrastructure/*Settings.cs`` (docs/reference/servicecontrol.md §1.4). Monitoring joined
the ServiceControl repository at 4.3.0; keys it read then carry no version.
"""

from __future__ import annotations

from ansible_collections.servicecontrol.platform.plugins.module_utils._settings_model import (
    PORT_RANGE,
    PORT_REASONS,
    entries_of,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._settings_shared import (
    instance_settings,
    logging_settings,
    web_settings,
)

KIND = "monitoring"
NS = "Monitoring"
SETTINGS = "src/ServiceControl.Monitoring/Settings.cs"
_s = entries_of(KIND, SETTINGS)


_CORE = [
    _s(
        NS + "/InstanceName",
        "str",
        "Particular.Monitoring",
        since="5.5.0",
        effective=True,
        note="Also the input (metrics) queue. Before 5.5.0 the key was Monitoring/EndpointName.",
    ),
    _s(NS + "/ErrorQueue", "str", "error", effective=True, note="The bare environment name ERRORQUEUE reaches it."),
    _s(
        NS + "/HttpHostname",
        "str",
        default_text="none outside containers (the installer writes it); `*` in containers",
        note="Not read in containers.",
    ),
    _s(
        NS + "/HttpPort",
        "int",
        minimum=PORT_RANGE[0],
        maximum=PORT_RANGE[1],
        reasons=PORT_REASONS,
        default_text="none outside containers (the installer writes it); 33633 in containers",
        note="Read as text and put into the URL. Not read in containers. The range is the installer's.",
    ),
    _s(
        NS + "/EndpointUptimeGracePeriod",
        "timespan",
        "00:00:40",
        reasons={"type": "TimeSpan.Parse refuses the value and the instance does not start"},
    ),
    _s(
        NS + "/ServiceControlThroughputDataQueue",
        "str",
        "ServiceControl.ThroughputData",
        since="5.4.0",
        note="Must equal the Error instance's LicensingComponent/ServiceControlThroughputDataQueue.",
    ),
]

MONITORING_SETTINGS = tuple(
    _CORE
    + instance_settings(
        KIND,
        NS,
        SETTINGS,
        overrides={"MaximumConcurrencyLevel": {"since": "4.13.3"}, "ValidateConfig": {"since": "6.11.0"}},
    )
    + logging_settings(KIND, NS)
    + web_settings(KIND, NS)
)
