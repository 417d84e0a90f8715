"""``/api/license`` and ``/api/license/details`` (ServiceControl/Licensing/LicenseController).

Licensing is not emulated: the licence is the one ``LAB_LICENSE`` names (lab.instance.licence), a valid
commercial licence by default. ``license`` answers LicenseInfo (snake_case; ``products`` left out when the licence
has none); ``license/details`` answers 204 (a null result) unless the licence is an "Endpoint Size" edition
with endpoint metadata, which the lab's licences never are.
"""

from __future__ import annotations

from lab.instance import common as c
from lab.instance.api.controller import Controller
from lab.instance.http import Request, Response
from lab.instance.licence import lab_licence


class LicenseController(Controller):
    routes = (
        ("GET", "/api/license", "license"),
        ("GET", "/api/license/details", "details"),
    )

    def __init__(self, settings) -> None:
        self.settings = settings

    def license(self, request: Request) -> Response:
        licence = lab_licence(self.settings.features.license)
        client = request.query("clientName") or ""
        return Response(
            200,
            c.compact(
                trial_license=licence.trial,
                edition=licence.edition,
                registered_to=licence.registered_to,
                upgrade_protection_expiration=licence.upgrade_protection,
                expiration_date=licence.expiration,
                status="valid" if licence.valid else "invalid",
                products=licence.products,
                has_endpoint_metadata=False,
                license_type=licence.licence_type,
                instance_name=self.settings.instance_name,
                license_status=licence.licence_status,
                license_extension_url="https://particular.net/extend-your-trial?p=%s" % client,
            ),
        )

    def details(self, request: Request) -> Response:
        return Response(204)
