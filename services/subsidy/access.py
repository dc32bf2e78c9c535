"""Who may call the subsidy HTTP API: a credential per region and role, named after who holds it.

- tax_gateway  (税务征收端): the quote only — "how much does this person owe for 2025 and why";
- viewer       (县乡医保、乡镇查看): the quote, a person's subsidy lines, ledger totals, refund
  search and detail, and the what-if page (政策测算, console.py): totals by township and funding
  source of the kind the ledger totals already show, no person — so whoever may read those may ask them;
- refund_clerk (乡镇财政所、医保经办退费经办): all a viewer may (the what-if too), and moving refunds
  (ordered → paid by the township → confirmed by the agency).

The machinery (tokens, hashes, the per-process cache) is shared.access; this module only names the roles.
"""
from __future__ import annotations

from shared.access import Roles

TAX_GATEWAY, VIEWER, REFUND_CLERK = "tax_gateway", "viewer", "refund_clerk"
ROLES = Roles({TAX_GATEWAY: "税务征收端：只查询应缴额",
               VIEWER: "查看（县乡医保、乡镇）：应缴额、资助台账、合计、退费单、政策测算",
               REFUND_CLERK: "退费经办（乡镇财政所、医保经办）：另可登记支付、确认退费"})
