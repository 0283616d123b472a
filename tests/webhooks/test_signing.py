"""The signature scheme, pinned by the test vector published in docs/webhooks.md."""

from __future__ import annotations

from pathlib import Path

from lvyue.webhooks import signing

SECRET = "whsec_test_0123456789"
TIMESTAMP = "1794362400"  # 2026-11-11T02:00:00Z
BODY = (
    b'{"id":"evt_0001","type":"order.shipped","occurred_at":"2026-11-11T02:00:00+00:00",'
    b'"data":{"order_id":42,"external_id":"TB1001","shop":"TB-01","warehouse":"HZ",'
    b'"carrier_code":"SF","tracking_no":"SF1234567890"}}'
)
# Computed independently: printf '%s.%s' "$TIMESTAMP" "$BODY" | openssl dgst -sha256 -hmac ...
SIGNATURE = "256d005dea4474f75dd665b7e562beec6a2dd4d38f74cbf350de21fc34372193"


def test_the_documented_vector():
    assert signing.sign(SECRET, TIMESTAMP, BODY) == SIGNATURE
    assert signing.verify(SECRET, TIMESTAMP, BODY, SIGNATURE, now=1794362400 + 60)


def test_the_vector_is_the_one_in_the_docs():
    doc = (Path(__file__).parents[2] / "docs" / "webhooks.md").read_text(encoding="utf-8")
    assert SIGNATURE in doc and BODY.decode() in doc and SECRET in doc and TIMESTAMP in doc


def test_verification_refuses_changes_and_stale_or_odd_timestamps():
    now = int(TIMESTAMP)
    assert not signing.verify(SECRET, TIMESTAMP, BODY + b" ", SIGNATURE, now=now)
    assert not signing.verify("whsec_other", TIMESTAMP, BODY, SIGNATURE, now=now)
    assert not signing.verify(SECRET, str(now + 1), BODY, SIGNATURE, now=now)
    assert not signing.verify(SECRET, TIMESTAMP, BODY, SIGNATURE, now=now + 301)  # replayed late
    assert not signing.verify(SECRET, "soon", BODY, SIGNATURE, now=now)
    assert signing.verify(SECRET, TIMESTAMP, BODY, SIGNATURE.upper(), now=now)


def test_the_body_is_compact_utf8_json():
    body = signing.encode({"id": "evt_1", "type": "order.held", "data": {"reason": "缺货"}})
    assert body == '{"id":"evt_1","type":"order.held","data":{"reason":"缺货"}}'.encode()
    assert signing.new_secret().startswith("whsec_") and len(signing.new_secret()) > 40
