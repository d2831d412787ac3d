"""What a reporter or responder gets back at once, in English and Swahili. Never repeats a report's content."""

from __future__ import annotations

from ews.core.models import CommandOutcome, Language

_RECEIPT = {
    "en": "Thank you. Your report is received. Ref {reference}. If you are in danger call 999 or 112.",
    "sw": "Asante. Ripoti yako imepokelewa. Kumbukumbu {reference}. Ukiwa hatarini piga 999 au 112.",
}

_COMMAND_REPLIES: dict[str, dict[Language, str]] = {
    "help": {
        "en": "EWS: text what happened and where (county, ward or town) to report it. Reply STOP to get no "
              "more messages. In danger call 999 or 112.",
        "sw": "EWS: tuma ujumbe wa kilichotokea na wapi (kaunti, wadi au mji) kuripoti. Jibu ACHA usipate "
              "ujumbe zaidi. Ukiwa hatarini piga 999 au 112.",
    },
    "stopped": {
        "en": "EWS: you will get no more messages from us. Reply START to receive them again.",
        "sw": "EWS: hutapata ujumbe zaidi kutoka kwetu. Jibu ANZA kupokea tena.",
    },
    "started": {
        "en": "EWS: you will receive our messages again. Reply STOP to end them.",
        "sw": "EWS: utapokea ujumbe wetu tena. Jibu ACHA kusitisha.",
    },
    "acknowledged": {
        "en": "EWS: alert A-{alert} acknowledged. Thank you.",
        "sw": "EWS: tahadhari A-{alert} imethibitishwa. Asante.",
    },
    "resolved": {
        "en": "EWS: alert A-{alert} marked handled (resolved). Thank you.",
        "sw": "EWS: tahadhari A-{alert} imewekwa kuwa imeshughulikiwa. Asante.",
    },
    "already_resolved": {
        "en": "EWS: alert A-{alert} was already marked handled. Nothing changed.",
        "sw": "EWS: tahadhari A-{alert} ilikuwa imeshughulikiwa tayari. Hakuna kilichobadilika.",
    },
    "ack_other_county": {
        "en": "EWS: alert A-{alert} is for another county, not one you receive. Nothing changed.",
        "sw": "EWS: tahadhari A-{alert} ni ya kaunti nyingine, si yako. Hakuna kilichobadilika.",
    },
    "ack_unknown": {
        "en": "EWS: we could not match that acknowledgement to an alert for you. Check the number.",
        "sw": "EWS: hatukuweza kulinganisha uthibitisho huo na tahadhari yako. Angalia nambari.",
    },
}


def receipt(reference: str, language: Language) -> str:
    """The receipt for one stored report."""
    return _RECEIPT[language].format(reference=reference)


def command_reply(outcome: CommandOutcome) -> str:
    """The answer to a command, in the language its keyword was in."""
    return _COMMAND_REPLIES[outcome.reply][outcome.language].format(alert=outcome.alert_id)


def command_replies(outcome: CommandOutcome) -> list[str]:
    """Every SMS answering a command: the text intake wrote (a monitor's HELP, two SMS), else the template's."""
    return list(outcome.texts) if outcome.texts else [command_reply(outcome)]
