"""The log-secret check of the auth tests: a code inside a longer number is not the code."""

from __future__ import annotations

from tests.log_secrets import leaks


def test_a_code_counts_only_where_no_digit_touches_it() -> None:
    assert leaks('{"timestamp": 1764590719941, "id": "CLM-0719941x"}', {"719941"}) == []
    for text in ('code=719941"', "votre code : 719941.", "719941"):
        found = leaks(text, {"719941"})
        assert len(found) == 1, text
        assert found[0].startswith("719941...")


def test_other_secrets_count_anywhere_and_the_finding_masks_them() -> None:
    token = "eyJraWQiOiJhYmMifQ.payload.signature"
    found = leaks(f'"session":"x{token}y" and the rest of the line', {token, "Demo-Portail-2026", ""})
    assert len(found) == 1
    assert found[0].startswith(token[:12])
    assert token not in found[0]  # the context shows <secret>, not the token
