"""Coupon codes: unique per shop by construction, short, typed by people, self-checking.

A code is the shop's next sequence number (0, 1, 2, ...) passed through a keyed
permutation of the 40-bit numbers (a 4-round Feistel network with blake2b
keyed by the shop's secret key): distinct numbers give distinct codes, so no
code is ever generated twice in a shop and nothing is retried, while the codes
of a shop do not reveal their order or each other.

The 40 bits are written as 8 characters of a 32-letter alphabet without the
characters people confuse (no 0/O, no 1/I), followed by one check character:
the weighted sum over GF(32) of the 8 characters with distinct non-zero
weights. Changing any single character (the check included) or swapping any
two different characters changes the sum, so every such typo is detected.

Shown as XXXX-XXXXX; read back case-insensitively, with or without the dash.
"""
import hashlib

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
DATA_LENGTH = 8
LENGTH = DATA_LENGTH + 1
BITS = 5 * DATA_LENGTH
HALF = BITS // 2
HALF_MASK = (1 << HALF) - 1
SPACE = 1 << BITS  # codes per shop: 1,099,511,627,776
ROUNDS = 4

# GF(32) with the primitive polynomial x^5 + x^2 + 1.
_EXP = [0] * 62
_LOG = [0] * 32
_x = 1
for _i in range(31):
    _EXP[_i] = _EXP[_i + 31] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0b100000:
        _x ^= 0b100101
WEIGHTS = [_EXP[i + 1] for i in range(DATA_LENGTH)]  # alpha^1..alpha^8; the check character weighs 1
# _MUL[w][d] = w * d in GF(32), for the 8 weights.
_MUL = [[0 if d == 0 else _EXP[_LOG[w] + _LOG[d]] for d in range(32)] for w in WEIGHTS]


class CodeError(ValueError):
    """A text that cannot be one of our codes; `reason` says why (for the caller's error)."""

    def __init__(self, code, reason):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def check_value(digits):
    total = 0
    for table, digit in zip(_MUL, digits, strict=False):
        total ^= table[digit]
    return total


def _round_keys(key):
    return [hashlib.blake2b(bytes([r]), key=key, digest_size=16).digest() for r in range(ROUNDS)]


def permute(number, key):
    """The keyed bijection of [0, 2^40): sequence number -> code number."""
    if not 0 <= number < SPACE:
        raise ValueError("sequence number out of range")
    left, right = number >> HALF, number & HALF_MASK
    for round_key in _round_keys(key):
        f = int.from_bytes(hashlib.blake2b(right.to_bytes(3, "big"), key=round_key, digest_size=3).digest(), "big")
        left, right = right, left ^ (f & HALF_MASK)
    return (left << HALF) | right


def unpermute(code_number, key):
    left, right = code_number >> HALF, code_number & HALF_MASK
    for round_key in reversed(_round_keys(key)):
        f = int.from_bytes(hashlib.blake2b(left.to_bytes(3, "big"), key=round_key, digest_size=3).digest(), "big")
        left, right = right ^ (f & HALF_MASK), left
    return (left << HALF) | right


def encode(code_number):
    digits = [(code_number >> (5 * (DATA_LENGTH - 1 - i))) & 31 for i in range(DATA_LENGTH)]
    return "".join(ALPHABET[d] for d in digits) + ALPHABET[check_value(digits)]


# For speed: each 10-bit quarter of a code number -> its 2 characters and their part of the check.
_PAIRS = [[(ALPHABET[v >> 5] + ALPHABET[v & 31], _MUL[2 * q][v >> 5] ^ _MUL[2 * q + 1][v & 31])
           for v in range(1024)] for q in range(DATA_LENGTH // 2)]


def generate(key, first, count):
    """The codes of sequence numbers first .. first+count-1 of the shop with `key`
    (the same as encode(permute(n, key)) for each, written for speed)."""
    if first < 0 or first + count > SPACE:
        raise ValueError("this shop has used every code")
    round_keys = _round_keys(key)
    blake2b, alphabet = hashlib.blake2b, ALPHABET
    q0, q1, q2, q3 = _PAIRS
    from_bytes = int.from_bytes
    codes = []
    append = codes.append
    for number in range(first, first + count):
        left, right = number >> HALF, number & HALF_MASK
        for round_key in round_keys:
            f = from_bytes(blake2b(right.to_bytes(3, "big"), key=round_key, digest_size=3).digest(), "big")
            left, right = right, left ^ (f & HALF_MASK)
        a, ca = q0[left >> 10]
        b, cb = q1[left & 1023]
        c, cc = q2[right >> 10]
        d, cd = q3[right & 1023]
        append(a + b + c + d + alphabet[ca ^ cb ^ cc ^ cd])
    return codes


def display(code):
    """ABCDEFGHJ -> ABCD-EFGHJ (for people; `normalise` reads both)."""
    return f"{code[:4]}-{code[4:]}"


def normalise(text):
    """What a person typed -> the canonical code, or CodeError naming what is wrong."""
    if not isinstance(text, str):
        raise CodeError("invalid_code", "a code is text")
    code = "".join(ch for ch in text.upper() if ch not in "- \t")
    if len(code) != LENGTH:
        raise CodeError("invalid_code", f"a code has {LENGTH} characters, this has {len(code)}")
    for position, ch in enumerate(code, 1):
        if ch not in VALUE:
            hint = " (codes have no 0, O, 1 or I)" if ch in "0O1I" else ""
            raise CodeError("invalid_code", f"character {position} ({ch!r}) is not used in codes{hint}")
    digits = [VALUE[ch] for ch in code]
    if check_value(digits[:DATA_LENGTH]) != digits[DATA_LENGTH]:
        raise CodeError("code_mistyped", "this code does not check out: a character was probably mistyped")
    return code
