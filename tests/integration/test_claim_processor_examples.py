"""The worked examples in docs/adjudication.md are what the code produces today."""

from __future__ import annotations

from tools.adjudication_examples import BEGIN, DOC, END, generate


def test_worked_examples_are_up_to_date() -> None:
    text = DOC.read_text(encoding="utf-8")
    documented = text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()
    assert documented == generate().strip(), "run: python -m tools.adjudication_examples"
