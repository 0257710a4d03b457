"""A tenant without the licence PIM needs (Microsoft Entra ID P2 or Microsoft Entra ID
Governance): Graph answers every PIM endpoint with 403 `AadPremiumLicenseRequired`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.sandbox.graph.errors import GraphHttpError

_PIM_PATH = re.compile(
    r"^/(?:roleManagement/directory/role(?:Assignment|Eligibility)Schedule|"
    r"roleManagement/directory/roleAssignmentApprovals|policies/roleManagementPolic)",
    re.IGNORECASE,
)


@dataclass
class PimLicence:
    """Whether the tenant holds the licence PIM needs (Microsoft Entra ID P2 or Governance)."""

    licensed: bool = True

    def check(self, path: str) -> None:
        """403 `AadPremiumLicenseRequired` for a PIM endpoint of an unlicensed tenant."""
        if not self.licensed and _PIM_PATH.match(path):
            raise GraphHttpError(
                403,
                "AadPremiumLicenseRequired",
                "The tenant needs an AAD Premium 2 license.",
            )
