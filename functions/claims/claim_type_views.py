"""The claim-type catalogue as the claims API shows it: rendered in the caller's language for their plan."""

from __future__ import annotations

from claims_models import ChoiceOut, ClaimTypeList, ClaimTypeOut, QuestionOut, ShowIfOut

from portal_common.claim_types import ClaimTypes, claim_types
from portal_common.plans import Plan


def render(catalogue: ClaimTypes, code: str, lang: str, plan: Plan | None) -> ClaimTypeOut:
    """The contract's ``ClaimType`` in ``lang`` (plus ``categoryName``, ``covered``, ``synonyms``)."""
    t = catalogue.by_code[code]
    questions = [
        QuestionOut(
            id=qid,
            type=q.type,
            label=q.label.get(lang),
            required=q.required,
            choices=[ChoiceOut(value=c.value, label=c.label.get(lang)) for c in q.choices] if q.choices else None,
            show_if=ShowIfOut(question_id=q.show_if.question_id, equals=q.show_if.equals) if q.show_if else None,
        )
        for qid, q in catalogue.questions_for(code, plan)
    ]
    return ClaimTypeOut(
        code=t.code,
        name=t.name.get(lang),
        category=t.category,
        category_name=catalogue.catalogue.categories[t.category].get(lang),
        requires_provider=t.requires_provider,
        provider_types=list(t.provider_types),
        requires_receipts=t.requires_receipts,
        questions=questions,
        synonyms=list(t.synonyms),
        covered=catalogue.is_covered(code, plan) if plan is not None else None,
    )


def covered_types(q: str | None, category: str | None, lang: str, plan: Plan) -> ClaimTypeList:
    """``GET /v1/claim-types``: the types ``plan`` covers that match ``q``, best first."""
    catalogue = claim_types()
    found = [t for t in catalogue.search(q, category) if catalogue.is_covered(t.code, plan)]
    return ClaimTypeList(items=[render(catalogue, t.code, lang, plan) for t in found])
