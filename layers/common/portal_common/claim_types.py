"""The claim-type catalogue: versioned data (``data/claim_types.json``) loaded once per container.

Each claim type has bilingual names and synonyms, a category, the provider types that may bill it,
whether it needs a provider and receipts, and its questions (shared definitions referenced by id,
with ``showIf`` conditions). The claims function renders it for the caller's language and plan (a
plan that requires a referral for a benefit makes the referral question required); the providers
function uses it to filter providers by claim type. Search folds case and accents and matches word
prefixes across French and English names and synonyms.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, model_validator

from portal_common.localized import CONFIG_FILE_MODEL, LocalizedText
from portal_common.text import words

if TYPE_CHECKING:
    from portal_common.plans import Plan  # only annotations: the catalogue alone needs no plan model

_PATH = Path(__file__).parent / "data" / "claim_types.json"

Category = Literal["PARAMEDICAL", "VISION", "DENTAL", "DRUG", "MEDICAL_EQUIPMENT", "HOSPITAL", "OTHER"]
QuestionType = Literal["boolean", "date", "text", "choice", "amount"]
CATEGORIES: tuple[str, ...] = ("PARAMEDICAL", "VISION", "DENTAL", "DRUG", "MEDICAL_EQUIPMENT", "HOSPITAL", "OTHER")
DRUG_CODE = "DRUG"
# Questions that a plan's ``referralRequired`` makes required (the rest of the referral block
# keeps its own rules through showIf).
REFERRAL_QUESTION = "referral"
# Words that list the OTHER category (the member guide's tip: type "Autre").
_OTHER_WORDS = frozenset({"autre", "autres", "other", "others"})


class _CatalogueModel(BaseModel):
    model_config = CONFIG_FILE_MODEL


class Choice(_CatalogueModel):
    """One value of a choice question."""

    value: str
    label: LocalizedText


class ShowIf(_CatalogueModel):
    """The question is shown (and can be required) only when another answer equals ``equals``."""

    question_id: str
    equals: bool | str


class Question(_CatalogueModel):
    """A question definition, shared by the claim types that ask it."""

    type: QuestionType
    label: LocalizedText
    required: bool = False
    choices: list[Choice] | None = None
    show_if: ShowIf | None = None


class ClaimTypeDef(_CatalogueModel):
    """One claim type of the catalogue."""

    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]{1,39}$")
    category: Category
    name: LocalizedText
    synonyms: list[str] = []
    provider_types: list[str] = []
    requires_provider: bool
    requires_receipts: bool
    questions: list[str] = []


class Catalogue(_CatalogueModel):
    """The whole catalogue document."""

    version: int
    categories: dict[str, LocalizedText]
    provider_types: dict[str, LocalizedText]
    questions: dict[str, Question]
    claim_types: list[ClaimTypeDef]

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        codes = [t.code for t in self.claim_types]
        if len(set(codes)) != len(codes):
            raise ValueError("duplicate claim type codes")
        for claim_type in self.claim_types:
            for qid in claim_type.questions:
                question = self.questions.get(qid)
                if question is None:
                    raise ValueError(f"{claim_type.code}: unknown question {qid}")
                # A condition refers to a question asked earlier by the same claim type.
                if question.show_if and question.show_if.question_id not in claim_type.questions:
                    raise ValueError(f"{claim_type.code}: {qid} depends on a question it does not ask")
            for provider_type in claim_type.provider_types:
                if provider_type not in self.provider_types:
                    raise ValueError(f"{claim_type.code}: unknown provider type {provider_type}")
            if claim_type.requires_provider and not claim_type.provider_types:
                raise ValueError(f"{claim_type.code}: requires a provider but lists no provider type")
        return self


class ClaimTypes:
    """The loaded catalogue with its search index."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.by_code = {t.code: t for t in catalogue.claim_types}
        # Folded words of each type's names and synonyms, and folded full names for ranking.
        self._words: dict[str, set[str]] = {}
        self._names: dict[str, tuple[str, str]] = {}
        for t in catalogue.claim_types:
            texts = [t.name.fr, t.name.en, *t.synonyms]
            self._words[t.code] = {w for text in texts for w in words(text)}
            self._names[t.code] = (" ".join(words(t.name.fr)), " ".join(words(t.name.en)))

    def get(self, code: str) -> ClaimTypeDef | None:
        """A claim type by code (``None`` when unknown)."""
        return self.by_code.get(code)

    def search(self, q: str | None, category: str | None = None) -> list[ClaimTypeDef]:
        """Types whose names or synonyms contain a word starting with every word of ``q``.

        ``Autre``/``Other`` lists the OTHER category; an empty ``q`` lists everything. Results
        come best first: name starts with the query, then name words, then synonyms.
        """
        types = [t for t in self.catalogue.claim_types if category is None or t.category == category]
        terms = words(q or "")
        if not terms:
            return types
        if set(terms) <= _OTHER_WORDS:
            return [t for t in types if t.category == "OTHER"]
        phrase = " ".join(terms)
        scored: list[tuple[int, int, ClaimTypeDef]] = []
        for position, t in enumerate(types):
            vocabulary = self._words[t.code]
            if not all(any(w.startswith(term) for w in vocabulary) for term in terms):
                continue
            names = self._names[t.code]
            if any(name == phrase for name in names):
                rank = 0
            elif any(name.startswith(phrase) for name in names):
                rank = 1
            elif all(any(w.startswith(term) for name in names for w in name.split()) for term in terms):
                rank = 2
            else:
                rank = 3
            scored.append((rank, position, t))
        return [t for _, _, t in sorted(scored, key=lambda s: (s[0], s[1]))]

    def provider_types_for(self, code: str) -> list[str]:
        """Provider types that may bill a claim type (empty for unknown codes)."""
        found = self.by_code.get(code)
        return list(found.provider_types) if found else []

    def is_covered(self, code: str, plan: Plan) -> bool:
        """Whether ``plan`` pays claims of this type."""
        if code == DRUG_CODE:
            return plan.drugs.covered
        return plan.rule_for(code) is not None

    def questions_for(self, code: str, plan: Plan | None) -> list[tuple[str, Question]]:
        """The questions of a type for a plan (referral required where the plan says so)."""
        t = self.by_code[code]
        rule = plan.rule_for(code) if plan else None
        referral_required = bool(rule and rule.referral_required)
        out: list[tuple[str, Question]] = []
        qids = list(t.questions)
        if referral_required:
            for extra in (REFERRAL_QUESTION, "referralDate", "referringPractitioner"):
                if extra not in qids:
                    qids.append(extra)
        for qid in qids:
            question = self.catalogue.questions[qid]
            if qid == REFERRAL_QUESTION and referral_required:
                question = question.model_copy(update={"required": True})
            out.append((qid, question))
        return out

    def name(self, code: str, lang: str) -> str:
        """Display name of a code in ``lang`` (the code itself when unknown)."""
        t = self.by_code.get(code)
        return t.name.get(lang) if t else code

    def provider_type_name(self, provider_type: str, lang: str) -> str:
        """Display name of a provider type."""
        found = self.catalogue.provider_types.get(provider_type)
        return found.get(lang) if found else provider_type


@lru_cache(maxsize=1)
def claim_types() -> ClaimTypes:
    """The catalogue of this container (read and validated once)."""
    data = json.loads(_PATH.read_text(encoding="utf-8"))
    return ClaimTypes(Catalogue.model_validate(data))
