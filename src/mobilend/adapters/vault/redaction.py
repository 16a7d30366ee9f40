"""Keep PII out of logs: mask national IDs, phone numbers and card numbers in any line.

Two hooks: ``PiiRedactingFilter`` for the standard ``logging`` handlers and
``redact_pii`` as a structlog processor. Both mask by pattern anywhere in the text
and, for well-known keys (``national_id``, ``phone``, ``real_name``…), whatever the
value looks like. Patterns err towards masking: a long digit run is treated as a
card number.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from mobilend.domain.borrowers import mask_bank_card, mask_name, mask_national_id, mask_phone

# 18-character resident ID: 17 digits and a digit or X check character.
_NATIONAL_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
# Mainland mobile, optionally +86/86 and spaced or dashed as 138 1234 5678.
_PHONE = re.compile(r"(?<![\d+])(?:\+?86[ \-]?)?1[3-9]\d(?:[ \-]?\d{4}){2}(?!\d)")
# Card numbers: 12-19 contiguous digits, or groups of four separated by a space or dash.
_CARD = re.compile(r"(?<!\d)(?:\d{12,19}|\d{4}(?:[ \-]\d{4}){2,3}(?:[ \-]\d{1,3})?)(?!\d)")

#: Keys whose values are masked whatever they contain.
SENSITIVE_KEYS: Mapping[str, Callable[[str], str]] = {
    "national_id": mask_national_id,
    "id_number": mask_national_id,
    "id_card": mask_national_id,
    "phone": mask_phone,
    "mobile": mask_phone,
    "bank_card": mask_bank_card,
    "card_number": mask_bank_card,
    "real_name": mask_name,
    "full_name": mask_name,
    "account_name": mask_name,
}


def redact_text(text: str) -> str:
    """Mask every national ID, mainland mobile number and card-like digit run in ``text``."""
    text = _NATIONAL_ID.sub(lambda m: mask_national_id(m.group(0)), text)
    text = _PHONE.sub(lambda m: mask_phone(m.group(0)), text)
    return _CARD.sub(lambda m: mask_bank_card(m.group(0)), text)


def redact_value(value: Any, key: str | None = None) -> Any:
    """Redact strings inside nested dicts, lists and tuples; sensitive keys are masked whole."""
    if key is not None and key.lower() in SENSITIVE_KEYS and isinstance(value, str | int):
        return SENSITIVE_KEYS[key.lower()](str(value))
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact_value(v, k if isinstance(k, str) else None) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(v) for v in value)
    return value


def redact_pii(
    _logger: Any, _method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: put it after the processors that add data, before rendering."""
    for key in list(event_dict):
        event_dict[key] = redact_value(event_dict[key], key)
    return event_dict


_STANDARD_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


class PiiRedactingFilter(logging.Filter):
    """Rewrites each record so its message, extras and traceback carry masked PII only.

    Attach it to handlers (a logger's filters do not see records propagated from
    child loggers): ``install_log_redaction()`` does that for the root logger.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, Mapping):  # structlog's ProcessorFormatter passes the event dict
            record.msg = redact_value(record.msg)
        else:
            try:
                message = record.getMessage()
            except Exception:  # a bad format string must not hide the line
                message = f"{record.msg!s} {record.args!r}"
            record.msg = redact_text(message)
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_RECORD_ATTRS:
                setattr(record, name, redact_value(value, name))
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> PiiRedactingFilter:
    """Add one redacting filter to every handler of ``logger`` (default: root)."""
    target = logger or logging.getLogger()
    redactor = PiiRedactingFilter()
    for handler in target.handlers:
        if not any(isinstance(f, PiiRedactingFilter) for f in handler.filters):
            handler.addFilter(redactor)
    return redactor
