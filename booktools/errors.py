"""Errors on the page: show that a call raises, and what it says.

A chapter that demonstrates an error runs the call inside ``raises``::

    with raises(RuntimeError, "retain_graph=True"):
        z.backward()

The cell passes only when the block raises that class of error with every
key word in its message, and then prints the message as the reader would see
it, wrapped to the page's width. If the error stopped being raised (or
changed its class or its words), the cell, and so the page, fails.
"""

import textwrap

__all__ = ["raises", "format_error"]


def format_error(error, width=79):
    """``"Kind: message"``, each line wrapped to `width` columns, the
    continuation lines indented (long words, such as paths, are kept
    whole)."""
    text = f"{type(error).__name__}: {error}"
    lines = []
    for line in text.splitlines() or [""]:
        lines.extend(
            textwrap.wrap(
                line,
                width,
                break_long_words=False,
                break_on_hyphens=False,
                subsequent_indent="    ",
            )
            or [""]
        )
    return "\n".join(lines)


class raises:
    """Context manager: assert that the block raises `kind` (or a subclass)
    and that its message contains each of `words`; print it (``show``).

    The error is kept in ``.error`` for further checks. Another class of
    error propagates unchanged; no error, or a message without a key word,
    fails with an AssertionError that says which.
    """

    def __init__(self, kind, *words, show=True, width=79):
        if not (isinstance(kind, type) and issubclass(kind, BaseException)):
            raise TypeError(
                "raises: kind must be an exception class such as "
                f"RuntimeError, got {kind!r}"
            )
        self.kind, self.words = kind, words
        self.show, self.width = show, width
        self.error = None

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if kind is None:
            raise AssertionError(
                f"expected {self.kind.__name__} "
                + (f"mentioning {list(self.words)} " if self.words else "")
                + "but nothing was raised"
            )
        if not issubclass(kind, self.kind):
            return False  # another error: let it fail the cell as it is
        message = str(error)
        missing = [w for w in self.words if w not in message]
        if missing:
            raise AssertionError(
                f"{kind.__name__} was raised, but its message lacks "
                f"{missing}: {message!r}"
            ) from error
        self.error = error
        if self.show:
            print(format_error(error, self.width))
        return True
