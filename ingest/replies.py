"""Receipts sent back to reporters, in English and Swahili. They never repeat the report's content."""

from __future__ import annotations

from ews.core.models import Language

_RECEIPT = {
    "en": "Thank you. Your report is received. Ref {reference}. If you are in danger call 999 or 112.",
    "sw": "Asante. Ripoti yako imepokelewa. Kumbukumbu {reference}. Ukiwa hatarini piga 999 au 112.",
}


def receipt(reference: str, language: Language) -> str:
    """The receipt for one stored report."""
    return _RECEIPT[language].format(reference=reference)
