"""The coverage check behind ``GET /v1/drugs/{din}/coverage`` ("Vérifier mon admissibilité").

The caller's certificate (one small ``Query``), their plan (cached), the product and its
interchangeable group (two ``GetItem``), then the pure rules of ``portal_common.drug_coverage``: the
same :func:`~portal_common.drug_coverage.evaluate` the claim processor pays drug claims with.
"""

from __future__ import annotations

from drug_models import Coverage
from drug_views import coverage_view

from portal_common import clock
from portal_common.drug_catalog import drug_document, get_drug_item, interchangeable_alternatives, profile_from_document
from portal_common.drug_coverage import evaluate
from portal_common.identity import Caller
from portal_common.members import eligibility_on, get_member
from portal_common.plans import get_plan
from portal_common.problems import DomainError, NotFound


def check_coverage(caller: Caller, din: str, person_id: str, lang: str) -> Coverage:
    """Is ``din`` covered for ``person_id`` today (:func:`portal_common.clock.today`)?

    Only for a person of the caller's certificate: anyone else's is ``404 PERSON_NOT_FOUND``.
    """
    member = get_member(caller.contract_number, caller.participant_number)
    if member is None:
        raise NotFound("MEMBER_NOT_FOUND")
    person = member.person(person_id)
    if person is None:
        raise NotFound("PERSON_NOT_FOUND")
    plan = get_plan(member.plan_id)
    if plan is None:
        raise DomainError("PLAN_NOT_FOUND", status=404)
    item = get_drug_item(din)
    if not item:
        raise NotFound("DRUG_NOT_FOUND")
    on = clock.today()
    document = drug_document(item)
    decision = evaluate(
        profile_from_document(document),
        interchangeable_alternatives(document),
        plan.drugs,
        eligibility_on(person, member, plan, on),
    )
    return coverage_view(din, person_id, decision, document, lang, on)
