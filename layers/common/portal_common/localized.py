"""A text in both languages, as the plans and the claim-type catalogue hold their labels.

Apart from :mod:`portal_common.plans` so that what only needs labels (the claim-type catalogue,
hence ProvidersApi) does not import the plan models and the member records with them (cold start,
docs/performance.md).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

# The models of the repository's configuration files (plans, the claim-type catalogue): camelCase
# aliases, nothing unknown, frozen, built on first use.
CONFIG_FILE_MODEL = ConfigDict(
    alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, defer_build=True
)


class LocalizedText(BaseModel):
    """A text in both languages."""

    model_config = CONFIG_FILE_MODEL
    fr: str
    en: str

    def get(self, lang: str) -> str:
        """The text for a catalogue language (``fr-CA``/``en-CA``)."""
        return self.en if lang.startswith("en") else self.fr
