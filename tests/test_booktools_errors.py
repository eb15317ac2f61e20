"""booktools.errors.raises: a demonstrated error must really be raised."""

import pytest

from booktools.errors import format_error, raises


def test_raises_passes_on_the_named_error_and_prints_it_wrapped(capsys):
    with raises(ValueError, "shape", "way out") as caught:
        raise ValueError("bad shape (3, 4); the way out: " + "x " * 60)
    assert isinstance(caught.error, ValueError)
    out = capsys.readouterr().out
    assert out.startswith("ValueError: bad shape (3, 4)")
    assert max(len(line) for line in out.splitlines()) <= 79
    assert len(out.splitlines()) >= 2


def test_raises_fails_when_nothing_is_raised():
    with pytest.raises(AssertionError, match="nothing was raised"):
        with raises(RuntimeError, "retain_graph"):
            pass


def test_raises_fails_when_a_key_word_is_missing():
    with pytest.raises(AssertionError, match=r"lacks \['retain_graph'\]"):
        with raises(RuntimeError, "retain_graph", show=False):
            raise RuntimeError("something else went wrong")


def test_raises_lets_another_class_of_error_through():
    with pytest.raises(KeyError):
        with raises(ValueError):
            raise KeyError("k")


def test_raises_accepts_a_subclass_and_refuses_a_non_class():
    with raises(LookupError, show=False) as caught:
        raise KeyError("k")
    assert isinstance(caught.error, KeyError)
    with pytest.raises(TypeError, match="exception class"):
        raises("RuntimeError")


def test_format_error_keeps_long_words_whole():
    e = RuntimeError("see " + "a" * 100)
    lines = format_error(e, 40).splitlines()
    assert lines[0] == "RuntimeError: see" and lines[1] == "    " + "a" * 100
