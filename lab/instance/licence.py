"""The licence the lab's instances report (``LAB_LICENSE``): a valid commercial licence unless a test asks for another.

Licensing is not emulated (no licence files, no checks); the instances only answer with the shape ServiceControl's
LicenseDetails would have for such a licence (ServiceControl.LicenseManagement/LicenseDetails.cs and
Particular.ServiceControl.Licensing.ActiveLicense at 6.19.2, docs/reference/servicecontrol.md §2.13):

- ``commercial`` (default): a subscription valid for another year, edition Enterprise, one unlimited product;
- ``trial``: a 14-day trial (ActiveLicense.ValidateTrialLicense caps a trial at 14 days);
- ``expired``: that subscription, expired two days ago (beyond the one-day grace), so ``status`` is invalid;
- ``expired-trial``: LicenseDetails.TrialExpired (an expired trial, two days ago).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass
class Licence:
    trial: bool
    licence_type: str
    edition: str
    registered_to: str
    expiration: str
    upgrade_protection: str
    licence_status: str
    products: list[dict] | None

    @property
    def valid(self) -> bool:
        """ActiveLicense.IsValid: not expired (LicenseDetails.HasLicenseExpired)."""
        return not self.licence_status.startswith("Invalid")


def _utc(day: dt.date) -> str:
    # DateTime.ToString("O") of a UTC date.
    return day.strftime("%Y-%m-%dT00:00:00.0000000Z")


def _unspecified(day: dt.date) -> str:
    # DateOnly.ToDateTime(TimeOnly.MinValue) has DateTimeKind.Unspecified: no offset in the "O" format.
    return day.strftime("%Y-%m-%dT00:00:00.0000000")


def lab_licence(kind: str) -> Licence:
    today = dt.datetime.now(dt.timezone.utc).date()
    if kind in ("trial", "expired-trial"):
        expired = kind == "expired-trial"
        end = today - dt.timedelta(days=2) if expired else today + dt.timedelta(days=14)
        status = "InvalidDueToExpiredTrial" if expired else "Valid"
        return Licence(True, "Trial", "", "", _unspecified(end), "", status, None)
    expired = kind == "expired"
    end = today - dt.timedelta(days=2) if expired else today + dt.timedelta(days=365)
    status = "InvalidDueToExpiredSubscription" if expired else "Valid"
    products = [{"name": "Unlimited", "quantity": 1}]
    return Licence(False, "Commercial", "Enterprise", "Particular lab", _utc(end), "", status, products)
