"""数电票: amounts, tax and rounding, 大写, numbers, parties, the XML and its check.

Pure rules, no database: `trace_api.invoices` stores, numbers and anchors what these
compute. The entry points other code uses are `amount_in_words` and
`is_valid_credit_code`; see docs/invoices.md for the rules.
"""

from __future__ import annotations

from compliance.credit_code import is_valid_credit_code
from compliance.invoice.words import amount_in_words

__all__ = ["amount_in_words", "is_valid_credit_code"]
