"""The book's machinery, kept off the rendered page: one small module per
chapter.

Plotting, timing, memory meters and exercise checkers live here, so that a
chapter shows the rule, the code that applies it and the check, and calls
everything else by name in a line or two (as d2l.ai keeps its helpers in the
``d2l`` package). Each module is tested in ``tests/test_booktools_chNN.py``.
This package is not part of vjplib: vjplib stays a small autodiff library that
reads in an afternoon.
"""
