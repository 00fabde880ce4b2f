"""GB 32100-2015 check character; vectors from exchange-and-permits notes B8."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bishui.errors import InputError
from bishui.registry import uscc


@pytest.mark.parametrize(
    "code",
    [
        "91130200699229617X",  # HJ 608-2017 annex example (notes B8)
        "914403001922038216",  # 华为技术有限公司 (notes B8)
        "911302307808371268",  # 2016 trial coding rule's outlet example (notes B8)
    ],
)
def test_valid_vectors(code: str) -> None:
    assert uscc.validate(code) == code
    assert uscc.is_valid(code.lower())


def test_weights_are_powers_of_three() -> None:
    # GB 32100-2015 §5, as listed in notes B8.
    assert uscc.WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def test_gb32100_worked_counter_example() -> None:
    # 91350100M000100Y4Z: sum 1640, 1640 mod 31 = 28, check = 3 (notes B8).
    body = "91350100M000100Y4"
    assert sum(uscc.ALPHABET.index(c) * w for c, w in zip(body, uscc.WEIGHTS, strict=True)) == 1640
    assert uscc.check_char(body) == "3"
    assert uscc.validate(body + "3") == body + "3"
    # 'Z' is not even in the alphabet, so that rule fires first.
    with pytest.raises(InputError) as ei:
        uscc.validate(body + "Z")
    assert "alphabet" in ei.value.rule
    with pytest.raises(InputError) as ei:
        uscc.validate(body + "4")
    assert "check character should be '3'" in ei.value.rule


@pytest.mark.parametrize("code", ["91310115MA1H8R7C6D", "91310115MA1G4L1WXK"])
def test_blog_codes_are_invalid(code: str) -> None:
    assert not uscc.is_valid(code)


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("9113020069922961", "18 characters"),
        ("91130200699229617XX", "18 characters"),
        ("91130200699229617I", "alphabet"),
        ("9113020O699229617X", "alphabet"),
        ("91A30200699229617X", "division"),
    ],
)
def test_bad_inputs_name_the_rule(code: str, fragment: str) -> None:
    with pytest.raises(InputError) as ei:
        uscc.validate(code)
    assert ei.value.field == "uscc"
    assert fragment in ei.value.rule
    assert ei.value.value == code


def test_not_a_string() -> None:
    with pytest.raises(InputError):
        uscc.validate(12345)  # type: ignore[arg-type]


def test_generator_is_deterministic_and_valid() -> None:
    a = uscc.generate("420802", 7)
    assert a == uscc.generate("420802", 7)
    assert a[2:8] == "420802"
    assert uscc.is_valid(a)
    with pytest.raises(InputError):
        uscc.generate("4208", 1)
    with pytest.raises(InputError):
        uscc.generate("420802", 1, department="I")


@given(st.integers(min_value=0, max_value=2**32), st.sampled_from(["420802", "420881", "110000"]))
def test_generated_codes_validate(seed: int, region: str) -> None:
    assert uscc.is_valid(uscc.generate(region, seed))


@given(st.text(alphabet=uscc.ALPHABET, min_size=17, max_size=17), st.integers(0, 16), st.data())
def test_any_single_substitution_is_detected(body: str, pos: int, data: st.DataObject) -> None:
    # Weights are distinct non-zero residues mod the prime 31, so changing one character
    # always changes the check character.
    code = body + uscc.check_char(body)
    other = data.draw(st.sampled_from([c for c in uscc.ALPHABET if c != code[pos]]))
    changed = code[:pos] + other + code[pos + 1 :]
    assert uscc.check_char(changed[:17]) != changed[17]
