"""The signature of the TOP-style gateways (Taobao/Tmall TOP, Pinduoduo, JD, Qimen).

Pinduoduo's and JD's open platforms copied Taobao's TOP router: one POST endpoint, the API name
as a parameter, an upper-case MD5 over ``secret + sorted(key + value) + secret``. The rest they
share (Asia/Shanghai times, windows, paging backwards) is in :mod:`.common`, the wire in
:mod:`.transport`, payload reads in :mod:`.fields`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

SIGN_METHODS = ("md5", "hmac", "hmac-sha256")


def sign_value(value: object) -> str:
    """The text a parameter value is signed (and sent) as.

    The gateways sign what they receive as text: booleans as ``true``/``false`` (the Java and
    JSON spelling, not Python's ``True``), lists/objects as compact JSON, nothing as empty
    (and empty values are then left out of the signature).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def top_style_sign(
    params: Mapping[str, str], secret: str, method: str = "md5", body: str = ""
) -> str:
    """Upper-case hex signature of a TOP-style request.

    ``S`` is every parameter except ``sign`` and those with an empty key or value, sorted by key
    (byte order) and concatenated as ``key + value``; ``body`` (Qimen's raw XML) follows ``S``.
    ``md5`` hashes ``secret + S + body + secret``; ``hmac`` / ``hmac-sha256`` key HMAC-MD5 /
    HMAC-SHA256 with the secret over ``S + body``.
    """
    joined = "".join(f"{k}{v}" for k, v in sorted(params.items()) if k and k != "sign" and v)
    payload = joined + body
    if method == "md5":
        return hashlib.md5((secret + payload + secret).encode("utf-8")).hexdigest().upper()
    if method == "hmac":
        digest = hmac.new(secret.encode("utf-8"), payload.encode("utf-8"), hashlib.md5)
    elif method == "hmac-sha256":
        digest = hmac.new(secret.encode("utf-8"), payload.encode("utf-8"), hashlib.sha256)
    else:
        raise ValueError(f"unknown sign_method {method!r}; expected one of {SIGN_METHODS}")
    return digest.hexdigest().upper()
