"""`lvyue serve` over HTTPS, in its own process, with a self-signed certificate made here;
and the client address a trusted proxy forwards reaching the audit log."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lvyue.accounts import queries
from lvyue.accounts.queries import AuditFilter
from lvyue.core.db import engine_for
from lvyue.core.uow import UnitOfWork


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_over_https_behind_a_trusted_proxy(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    port = free_port()
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--db", url]
    args += ["--certfile", str(cert), "--keyfile", str(key)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LVYUE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lvyue.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    trust = ssl.create_default_context(cafile=str(cert))
    base = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"{base}/healthz", verify=trust, timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read().decode() if proc.stdout else ""
                    pytest.fail(f"server did not come up:\n{out}")
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()["status"] == "ok"
        assert r.url.scheme == "https"
        # Not trusted without the certificate: TLS is really on.
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{base}/healthz", timeout=5)
        # The test client connects from 127.0.0.1, the default trusted proxy: the address it
        # forwards is the one the audit log keeps.
        r = httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": "nobody", "password": "wrong password 1"},
            headers={"X-Forwarded-For": "203.0.113.9"},
            verify=trust,
            timeout=10,
        )
        assert r.status_code == 401 and r.json()["code"] == "invalid_credentials"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    with UnitOfWork(engine_for(url), readonly=True) as uow:
        (row,) = queries.list_audit(uow, AuditFilter(action="login.failed"))
    assert row["ip"] == "203.0.113.9"
