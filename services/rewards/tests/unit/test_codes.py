import os

import pytest

from rewards import codes

KEY = bytes(range(32))


def test_a_million_codes_of_a_shop_never_collide_and_each_checks_out():
    made = codes.generate(KEY, 0, 1_000_000)
    assert len(set(made)) == 1_000_000
    assert all(len(code) == codes.LENGTH for code in made)
    for code in made[:: 997]:
        assert codes.normalise(code) == code


def test_the_generator_is_the_permutation_and_it_can_be_inverted():
    for number in [0, 1, 2, 12345, codes.SPACE - 1]:
        code_number = codes.permute(number, KEY)
        assert codes.unpermute(code_number, KEY) == number
        assert codes.generate(KEY, number, 1) == [codes.encode(code_number)]


def test_codes_have_no_ambiguous_characters_and_do_not_look_sequential():
    made = codes.generate(KEY, 0, 1000)
    assert not set("".join(made)) & set("01OI")
    assert sum(a[:4] == b[:4] for a, b in zip(made, made[1:], strict=False)) < 5


def test_another_key_gives_other_codes():
    assert not set(codes.generate(KEY, 0, 10_000)) & set(codes.generate(os.urandom(32), 0, 10_000))


@pytest.mark.parametrize("sample", range(0, 200_000, 20_000))
def test_every_single_character_typo_is_caught(sample):
    code = codes.generate(KEY, sample, 1)[0]
    for position in range(codes.LENGTH):
        for ch in codes.ALPHABET:
            if ch != code[position]:
                typo = code[:position] + ch + code[position + 1:]
                with pytest.raises(codes.CodeError) as caught:
                    codes.normalise(typo)
                assert caught.value.code == "code_mistyped"


def test_every_swap_of_two_different_characters_is_caught():
    for code in codes.generate(KEY, 500, 50):
        for i in range(codes.LENGTH):
            for j in range(i + 1, codes.LENGTH):
                if code[i] != code[j]:
                    swapped = list(code)
                    swapped[i], swapped[j] = swapped[j], swapped[i]
                    with pytest.raises(codes.CodeError):
                        codes.normalise("".join(swapped))


def test_people_may_type_lower_case_and_the_dash():
    code = codes.generate(KEY, 7, 1)[0]
    assert codes.normalise(codes.display(code).lower()) == code
    assert codes.normalise(" " + codes.display(code) + " ") == code


@pytest.mark.parametrize("text,reason", [("ABCD", "9 characters"), ("ABCD-EFGH0", "no 0, O, 1 or I"),
                                         ("ABCD-EFGH!", "not used in codes")])
def test_malformed_codes_say_why(text, reason):
    with pytest.raises(codes.CodeError) as caught:
        codes.normalise(text)
    assert caught.value.code == "invalid_code" and reason in caught.value.reason
