"""Unified social credit codes (统一社会信用代码, GB 32100-2015), the one check for
contract-proof parties and invoice sellers and buyers."""

from __future__ import annotations

import re

from stdnum.cn import uscc

_CODE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")  # digits and capitals but I, O, S, V, Z


def is_valid_credit_code(code: str) -> bool:
    """Whether ``code`` is a credit code exactly as written: 18 characters of its alphabet,
    upper case, nothing around them, and the check character `stdnum.cn.uscc` computes
    (which also checks the administrative-division digits)."""
    return isinstance(code, str) and _CODE.fullmatch(code) is not None and uscc.is_valid(code)
