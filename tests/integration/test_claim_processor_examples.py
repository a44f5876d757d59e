"""The worked examples in docs/adjudication.md and the README are what the code produces today."""

from __future__ import annotations

from tools.adjudication_examples import BEGIN, DOCUMENTS, END, generate


def test_worked_examples_are_up_to_date() -> None:
    expected = generate().strip()
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        documented = text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()
        assert documented == expected, f"{document.name}: run python -m tools.adjudication_examples"
