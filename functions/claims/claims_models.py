"""Request and response models of the claims function (the contract, validated once at the edge)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, StringConstraints
from pydantic_core import PydanticCustomError

from portal_common.models import InputModel, IsoDate, Money, OutputModel, TreatmentAmount, WholeNumber
from portal_common.patterns import DIN_PATTERN

_PRINTABLE = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]*$"

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_PRINTABLE)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=_PRINTABLE)]
Code = Annotated[str, StringConstraints(min_length=2, max_length=40, pattern=r"^[A-Z][A-Z0-9_]+$")]
OpaqueId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
ContentType = Literal["application/pdf", "image/jpeg", "image/png", "image/heic"]
ClaimStatus = Literal["SUBMITTED", "IN_REVIEW", "PENDING_INFORMATION", "PAID", "PARTIALLY_PAID", "DENIED"]
MAX_ANSWER_LENGTH = 500


def _answer_value(value: Any) -> Any:
    # An answer is a JSON boolean or a string (dates, amounts and choices travel as strings); the
    # claim type's question says which, and the service checks it.
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if len(value) > MAX_ANSWER_LENGTH:
            raise PydanticCustomError("TOO_LONG", "answer too long", {"max_length": MAX_ANSWER_LENGTH})
        return value.strip()
    raise PydanticCustomError("INVALID_TYPE", "an answer is a boolean or a string")


AnswerValue = Annotated[bool | str, BeforeValidator(_answer_value)]


def _accepted(value: bool) -> bool:
    if value is not True:
        raise PydanticCustomError("AUTHORIZATION_REQUIRED", "the authorization must be accepted")
    return value


class ReceiptRequest(InputModel):
    """``POST /v1/receipts``."""

    file_name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1F\x7F/\\]+$")]
    content_type: ContentType
    size_bytes: Annotated[WholeNumber, Field(ge=1, le=10 * 1024 * 1024)]


class Treatment(InputModel):
    """One treatment (service, item or prescription fill) of a claim."""

    date_of_service: IsoDate
    amount: TreatmentAmount
    description: ShortText | None = None
    quantity: Annotated[WholeNumber, Field(ge=1, le=999)] | None = None
    procedure_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,11}$")] | None = None
    # FDI two-digit tooth numbers: permanent 11-48, primary 51-85.
    tooth_number: Annotated[str, StringConstraints(pattern=r"^([1-4][1-8]|[5-8][1-5])$")] | None = None


class DrugDetails(InputModel):
    """Details of a drug claim (all optional; the receipt carries the rest)."""

    din: Annotated[str, StringConstraints(pattern=DIN_PATTERN)] | None = None
    drug_name: ShortText | None = None
    pharmacy_name: ShortText | None = None
    prescription_number: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-]{1,40}$")] | None = None
    quantity: Annotated[Decimal, Field(gt=0, le=100000, max_digits=9, decimal_places=3)] | None = None
    days_supply: Annotated[WholeNumber, Field(ge=1, le=365)] | None = None
    # The pharmacist's dispensing fee included in each treatment amount (per fill): the claim
    # processor applies the plan's dispensing-fee cap to it (docs/adjudication.md).
    dispensing_fee: Money | None = None


class Authorization(InputModel):
    """The member's "Confirmer et autoriser" box."""

    accepted: Annotated[StrictBool, AfterValidator(_accepted)]


class ClaimSubmission(InputModel):
    """``POST /v1/claims``."""

    claim_type: Code
    patient_id: OpaqueId
    provider_id: OpaqueId | None = None
    answers: Annotated[dict[Annotated[str, StringConstraints(max_length=64)], AnswerValue], Field(max_length=50)] = (
        Field(default_factory=dict)
    )
    treatments: Annotated[list[Treatment], Field(min_length=1, max_length=20)]
    drug: DrugDetails | None = None
    receipt_ids: Annotated[list[OpaqueId], Field(max_length=10)] = Field(default_factory=list)
    additional_info: LongText | None = None
    authorization: Authorization


# ---------------------------------------------------------------- responses (OpenAPI document)


class ChoiceOut(OutputModel):
    value: str
    label: str


class ShowIfOut(OutputModel):
    question_id: str
    equals: bool | str


class QuestionOut(OutputModel):
    id: str
    type: Literal["boolean", "date", "text", "choice", "amount"]
    label: str
    required: bool
    choices: list[ChoiceOut] | None = None
    show_if: ShowIfOut | None = None


class ClaimTypeOut(OutputModel):
    code: str
    name: str
    category: str
    category_name: str
    requires_provider: bool
    provider_types: list[str]
    requires_receipts: bool
    questions: list[QuestionOut]
    synonyms: list[str]
    covered: bool | None = None


class ClaimTypeList(OutputModel):
    items: list[ClaimTypeOut]


class UploadForm(OutputModel):
    url: str
    fields: dict[str, str]


class ReceiptCreated(OutputModel):
    receipt_id: str
    upload: UploadForm
    expires_in: int


class ReceiptOut(OutputModel):
    receipt_id: str
    status: Literal["PENDING_UPLOAD", "UPLOADED", "REJECTED"]
    file_name: str
    content_type: str
    size_bytes: int
    rejection_reason: str | None = None
    claim_id: str | None = None


class ClaimCreated(OutputModel):
    claim_id: str
    status: Literal["SUBMITTED"]
    submitted_at: str
    total_claimed: str


class PatientRef(OutputModel):
    person_id: str
    first_name: str


class ProviderRef(OutputModel):
    provider_id: str
    display_name: str


class ClaimSummary(OutputModel):
    claim_id: str
    claim_type: str
    claim_type_name: str
    patient: PatientRef
    provider: ProviderRef | None = None
    status: ClaimStatus
    submitted_at: str
    total_claimed: str
    total_paid: str | None = None


class ClaimList(OutputModel):
    items: list[ClaimSummary]
    next_cursor: str | None


class StatusChange(OutputModel):
    status: str
    at: str


class AdjudicationLine(OutputModel):
    treatment_index: int
    claimed: str
    eligible: str
    paid: str
    reason_code: str | None = None
    explanation: str | None = None


class Adjudication(OutputModel):
    lines: list[AdjudicationLine]
    total_paid: str
    processed_at: str


class TreatmentOut(OutputModel):
    date_of_service: str
    amount: str
    description: str | None = None
    quantity: int | None = None
    procedure_code: str | None = None
    tooth_number: str | None = None


class DrugOut(OutputModel):
    """The drug details as submitted (``quantity`` a decimal string, the fee a money string)."""

    din: str | None = None
    drug_name: str | None = None
    pharmacy_name: str | None = None
    prescription_number: str | None = None
    quantity: str | None = None
    days_supply: int | None = None
    dispensing_fee: str | None = None


class InformationRequestOut(OutputModel):
    """Something the processor needs from the member before it can pay (contract v1.1)."""

    request_id: str
    code: Literal["OTHER_PAYER_STATEMENT_REQUIRED", "RECEIPT_REJECTED", "RECEIPT_REQUIRED"]
    message: str
    receipt_id: str | None = None
    status: Literal["OPEN", "FULFILLED"]
    requested_at: str


class ClaimDetail(ClaimSummary):
    """The claim as submitted (every field of the body but ``authorization``) and what followed."""

    patient_id: str
    provider_id: str | None = None
    category: str
    answers: dict[str, bool | str]
    treatments: list[TreatmentOut]
    drug: DrugOut | None = None
    receipt_ids: list[str]
    additional_info: str | None = None
    status_history: list[StatusChange]
    adjudication: Adjudication | None = None
    information_requests: list[InformationRequestOut] = Field(default_factory=list)


class InformationAnswer(InputModel):
    """``POST /v1/claims/{claimId}/information``: the documents asked for (the first payer's
    statement, a new receipt) and corrected answers (``otherInsurerFirst``, ``otherInsurerPaid``...)."""

    receipt_ids: Annotated[list[OpaqueId], Field(min_length=1, max_length=10)]
    answers: Annotated[dict[Annotated[str, StringConstraints(max_length=64)], AnswerValue], Field(max_length=50)] = (
        Field(default_factory=dict)
    )


class InformationAccepted(OutputModel):
    """The ``202`` of an answer: the claim is submitted again and will be processed."""

    claim_id: str
    status: Literal["SUBMITTED"]


# ---------------------------------------------------------------- estimates (v1.1)


class ClaimEstimateRequest(ClaimSubmission):
    """``POST /v1/claims/estimate``: the body of ``POST /v1/claims``; ``receiptIds`` and
    ``authorization`` are not needed (accepted, so the same body can be sent to both, and ignored:
    an estimate neither checks nor attaches receipts)."""

    authorization: Authorization | None = None  # type: ignore[assignment]


class EstimateLine(OutputModel):
    treatment_index: int
    claimed: str
    eligible: str
    paid: str
    reason_code: str
    explanation: str


class ClaimEstimate(OutputModel):
    """What the processor would pay for the claim now, on the member's current running totals."""

    total_claimed: str
    total_payable: str
    lines: list[EstimateLine]
