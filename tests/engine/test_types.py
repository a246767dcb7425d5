"""Socket types: constants, command-line parsing and the compatibility rule."""

import pytest

from graph_engine import ANY, BOOLEAN, FLOAT, INT, STRING, EnumType, SocketType, check_compatible, is_compatible
from graph_engine.types import ConstantError

SAMPLER = EnumType("SAMPLER", choices=("euler", "heun", "dpm"))
FAST_SAMPLER = EnumType("FAST_SAMPLER", choices=("euler",))
MODEL = SocketType("MODEL")


def test_int_accepts_ints_only_not_bools_or_floats() -> None:
    assert INT.check_constant(3) == 3
    for bad in (True, 3.0, "3", None):
        with pytest.raises(ConstantError) as caught:
            INT.check_constant(bad)
        assert caught.value.code == "wrong_type"


def test_float_canonicalises_ints_and_rejects_non_finite() -> None:
    assert FLOAT.check_constant(7) == 7.0 and isinstance(FLOAT.check_constant(7), float)
    for bad in (float("nan"), float("inf"), False, "1.0"):
        with pytest.raises(ConstantError):
            FLOAT.check_constant(bad)


def test_parse_text_by_type() -> None:
    assert INT.parse_text(" 42 ") == 42
    assert FLOAT.parse_text("0.5") == 0.5
    assert STRING.parse_text("a cat") == "a cat"
    assert BOOLEAN.parse_text("false") is False and BOOLEAN.parse_text("Yes") is True
    assert SAMPLER.parse_text("heun") == "heun"
    for socket_type, text in ((INT, "4.5"), (FLOAT, "x"), (BOOLEAN, "maybe"), (SAMPLER, "ddim")):
        with pytest.raises(ConstantError):
            socket_type.parse_text(text)


def test_enum_reports_choices() -> None:
    with pytest.raises(ConstantError) as caught:
        SAMPLER.check_constant("ddim")
    assert caught.value.code == "not_a_choice"
    assert "euler, heun, dpm" in str(caught.value)


def test_opaque_types_hold_no_constants() -> None:
    assert not MODEL.accepts_constants
    with pytest.raises(ConstantError) as caught:
        MODEL.check_constant("model.safetensors")
    assert caught.value.code == "link_required"


def test_compatibility_rule() -> None:
    assert is_compatible(INT, INT)
    assert is_compatible(INT, FLOAT)
    assert not is_compatible(FLOAT, INT)
    assert is_compatible(MODEL, ANY)
    assert not is_compatible(ANY, MODEL)
    assert is_compatible(SAMPLER, STRING)
    assert not is_compatible(STRING, SAMPLER)
    assert is_compatible(FAST_SAMPLER, SAMPLER)  # a subset only produces accepted values
    reason = check_compatible(SAMPLER, FAST_SAMPLER)
    assert reason is not None and "heun" in reason and "dpm" in reason
    assert "MODEL" in check_compatible(MODEL, SocketType("CLIP"))


def test_types_are_equal_by_name_and_choices() -> None:
    assert SocketType("MODEL", "one description") == SocketType("MODEL", "another")
    assert SocketType("MODEL") != SocketType("CLIP")
    assert EnumType("E", choices=("a",)) != EnumType("E", choices=("a", "b"))
    assert SocketType("INT") != INT  # an opaque type named INT is not the primitive
