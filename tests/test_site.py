"""The book's own Sphinx extension (_ext/book_html.py), without a browser:
plain-text titles for browser tabs and search results."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_ext"))
from book_html import tex_to_text  # noqa: E402


@pytest.mark.parametrize(
    "title, text",
    [
        # the chapter 1 heading as Sphinx renders it into the page title
        (
            '1. The gradient of <span class="math notranslate nohighlight">'
            r"\(\Vert X^{-1}\Vert_F\)</span> by hand",
            "1. The gradient of ‖X⁻¹‖_F by hand",
        ),
        (
            r"Naive Jacobians: building \(J_1\) and \(J_2\)",
            "Naive Jacobians: building J₁ and J₂",
        ),
        (
            r"Tangent \(\dot{x}\), cotangent \(\bar y\), \(J^\top\)",
            "Tangent x\u0307, cotangent y\u0304, Jᵀ",
        ),
        (
            r"\(\operatorname{tr}(A^{T} B)\) and \(\frac{1}{2}\|x\|^2\)",
            "tr(AᵀB) and 1/2‖x‖²",
        ),
        (r"\(A \otimes B\) &amp; \(x_{ij}\)", "A ⊗ B & x_(ij)"),
        (r"\(\text{for all } i\)", "for all i"),
        ("No math at all", "No math at all"),
    ],
)
def test_tex_becomes_plain_text(title, text):
    assert tex_to_text(title) == text


def test_no_backslash_or_brace_survives():
    out = tex_to_text(r"\(\sum_{i=1}^{n} \alpha_i \nabla f(\mathbf{x})\)")
    assert not set(out) & set("\\{}$"), out
    assert "∑" in out and "α" in out and "∇" in out
