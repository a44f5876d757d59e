"""``POST /v1/claims/estimate``: what the claim processor would pay for a claim submitted now.

The body passes the same checks as a submission (``claim_submission.checked_claim``: same field
errors), becomes the same ``ClaimRecord`` a submission would write, and goes through the processor's
own adjudication (``adjudication_inputs.adjudicate_claim``: the member's running totals as stored,
the drug ruling, the plan's rules). Nothing is written: the result is only shown. The same claim
submitted next, with no other claim of the certificate adjudicated in between, is paid exactly
``totalPayable``.

AWS reads: the certificate (one ``Query``; the plan is cached), the provider when the claim type
needs one (one ``GetItem``), the running totals and, for a drug claim, the DIN's product (one
``BatchGetItem``), the product's interchangeable group when the plan substitutes generics (one
``GetItem``; drug claims have no provider). At most 3.
"""

from __future__ import annotations

from adjudication_inputs import adjudicate_claim
from claim_submission import checked_claim
from claims_models import ClaimEstimate, ClaimEstimateRequest, EstimateLine

from portal_common.identity import Caller
from portal_common.models import money_to_str


def estimate_claim(caller: Caller, request: ClaimEstimateRequest, lang: str) -> ClaimEstimate:
    """The processor's adjudication of ``request`` as if submitted now (writes nothing)."""
    claim, member, plan = checked_claim(
        caller, request.model_copy(update={"receipt_ids": []}), lang, receipts_required=False
    )
    result = adjudicate_claim(claim, member, plan)
    lines = [
        EstimateLine(
            treatment_index=line.treatment_index,
            claimed=money_to_str(line.claimed),
            eligible=money_to_str(line.eligible),
            paid=money_to_str(line.paid),
            reason_code=line.reason_code,
            explanation=line.explanation(lang),
        )
        for line in sorted(result.lines, key=lambda line: line.treatment_index)
    ]
    return ClaimEstimate(
        total_claimed=money_to_str(result.total_claimed),
        total_payable=money_to_str(result.total_paid),
        lines=lines,
    )
