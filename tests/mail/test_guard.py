"""The guard: a message that would carry anything shaped like a My Number is not sent."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from accounts.mail import MessageHasNumber, contains_number, send_templated

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "written",
    [
        "123456789018",
        "1234-5678-9018",
        "1234 5678 9018",
        "１２３４５６７８９０１８",
        "１２３４－５６７８－９０１８",
        "番号は123456789018です",
    ],
)
def test_a_message_with_a_number_is_refused_and_nothing_is_sent(acme, written):
    context = {
        "firm": acme,
        "person": {"family_name": "山田", "given_name": "花子"},
        "url": "https://acme.localhost/s/token/",
        "kind": "resubmit",
        "expires_at": timezone.now(),
        "purposes": [],
        # A handler's reason that (against every check upstream) carries a number.
        "reason": f"書類の番号（{written}）が読めません",
    }
    with pytest.raises(MessageHasNumber) as refused:
        send_templated("collection/link", context, ["hanako@example.test"], "ja")
    assert written not in str(refused.value)  # the error names the message, not the text
    assert mail.outbox == []


def test_link_tokens_dates_and_corporate_numbers_are_not_mistaken_for_a_number():
    # Random tokens may hold digit runs; letters around them make them part of the token.
    assert not contains_number("https://acme.localhost/s/Ab123456789012cD/")
    assert not contains_number("https://localhost/accounts/password/reset/key/1a-123456789012x/")
    assert not contains_number("有効期限: 2026年12月1日")
    assert not contains_number("法人番号 1234567890123")  # 13 digits: public, not a My Number
    assert contains_number("https://acme.localhost/?n=123456789018")
