"""The Standard Webhooks test vector.

The specification (spec/standard-webhooks.md) gives the scheme but no fixed values; the reference libraries in
github.com/standard-webhooks/standard-webhooks share these, e.g. ``libraries/python/tests/test_webhooks.py``
(``test_sign_function``), from which the numbers below are copied.
"""

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
PAYLOAD = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
