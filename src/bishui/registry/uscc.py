"""Unified social credit code (统一社会信用代码), GB 32100-2015.

An 18-character code:

====== =========================================================== =================
chars  meaning                                                     source
====== =========================================================== =================
1      registration-department code (登记管理部门码, e.g. 9 = 市场监管) GB 32100 §4
2      organisation category (机构类别码, e.g. 1 = enterprise)        GB 32100 §4
3–8    administrative division of the registering authority        GB/T 2260
9–17   主体标识码 (the body's organisation code, GB 11714)           GB 32100 §4
18     check character                                             GB 32100 §5
====== =========================================================== =================

The alphabet has 31 symbols, ``0-9`` and the capitals without I, O, S, V, Z, valued 0–30.
The check character is ``C18 = 31 − MOD(Σ Cᵢ·Wᵢ, 31)`` with ``Wᵢ = 3^(i−1) mod 31`` and 31
written as 0 (GB 32100-2015 §5, worked example; exchange-and-permits notes B8 [V]).

The department and category lists are not enforced: the notes hold them only from
recollection ([M]); only the structure and the check character are.
"""

from __future__ import annotations

import random

from bishui.errors import InputError

#: GB 32100-2015 Table 2: the 31 code symbols in value order (no I, O, S, V, Z).
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
#: GB 32100-2015 §5: weights of positions 1..17, 3^(i−1) mod 31.
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
#: GB 11714-1997 weights of the 8 body digits of an organisation code (recollection, [M];
#: consistent with the notes' two real test vectors). Used only by the demo generator.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def check_char(first17: str) -> str:
    """Return the GB 32100 check character of the first 17 characters.

    Parameters
    ----------
    first17 : str
        Characters 1–17 of a code, from :data:`ALPHABET` (upper case).

    Returns
    -------
    str
        The 18th character.

    Raises
    ------
    InputError
        If *first17* is not 17 characters of the alphabet.

    Notes
    -----
    GB 32100-2015 §5: ``C18 = 31 − MOD(Σᵢ₌₁¹⁷ Cᵢ·Wᵢ, 31)``, ``Wᵢ = 3^(i−1) mod 31``; a result of
    31 is written 0.
    """
    if len(first17) != 17:
        raise InputError("uscc", "GB 32100-2015: 17 characters before the check", first17)
    bad = [c for c in first17 if c not in _VALUE]
    if bad:
        raise InputError("uscc", "GB 32100-2015 Table 2: character not in the alphabet", bad[0])
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate(code: str, field: str = "uscc") -> str:
    """Validate a unified social credit code and return it normalised (stripped, upper case).

    Parameters
    ----------
    code : str
        The code as entered.
    field : str
        The field name reported in the error.

    Returns
    -------
    str
        The normalised 18-character code.

    Raises
    ------
    InputError
        Naming the rule broken: length, alphabet, division digits, or check character.
    """
    if not isinstance(code, str):
        raise InputError(field, "GB 32100-2015: a code is a string of 18 characters", code)
    norm = code.strip().upper()
    if len(norm) != 18:
        raise InputError(field, "GB 32100-2015: a code has 18 characters", code)
    for c in norm:
        if c not in _VALUE:
            rule = "GB 32100-2015 Table 2: character not in the alphabet (no I, O, S, V, Z)"
            raise InputError(field, rule, code)
    if not norm[2:8].isdigit():
        raise InputError(field, "GB 32100-2015 §4: chars 3-8 are a GB/T 2260 division code", code)
    expected = check_char(norm[:17])
    if norm[17] != expected:
        raise InputError(field, f"GB 32100-2015 §5: check character should be {expected!r}", code)
    return norm


def is_valid(code: str) -> bool:
    """True when :func:`validate` accepts *code*."""
    try:
        validate(code)
    except InputError:
        return False
    return True


def _org_code(body8: str) -> str:
    """GB 11714 organisation code: 8 digits and their check character (0-9 or X)."""
    total = sum(int(c) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    c9 = 11 - total % 11
    return body8 + ("X" if c9 == 10 else "0" if c9 == 11 else str(c9))


def generate(region: str, seed: int, *, department: str = "9", category: str = "1") -> str:
    """A valid code for the demo: department 9 (市场监管), category 1 (enterprise) by default.

    Parameters
    ----------
    region : str
        Six-digit GB/T 2260 division code of the registering authority, e.g. ``"420802"``.
    seed : int
        Same seed, same code.
    department, category : str
        Characters 1 and 2.

    Returns
    -------
    str
        An 18-character code whose check character is right. The organisation part is eight
        random digits with a GB 11714 check character, so it looks like a pre-2015 code.
    """
    if not (isinstance(region, str) and len(region) == 6 and region.isdigit()):
        raise InputError("region", "a six-digit GB/T 2260 division code", region)
    for name, ch in (("department", department), ("category", category)):
        if len(ch) != 1 or ch not in _VALUE:
            raise InputError(name, "GB 32100-2015 Table 2: one character of the code alphabet", ch)
    rng = random.Random(seed)
    body8 = "".join(rng.choice("0123456789") for _ in range(8))
    first17 = department + category + region + _org_code(body8)
    return first17 + check_char(first17)
