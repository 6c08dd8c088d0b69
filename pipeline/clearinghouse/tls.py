"""A self-signed TLS certificate for the simulator's HTTPS endpoint on loopback.

The practice pins exactly this certificate (``realtime.certificate`` in its profile), the way
the SFTP host key is pinned in known_hosts: no CA, no ``verify=False``. The key is written
owner-only; the certificate names ``127.0.0.1`` and ``localhost`` and is valid for a year
from when it is made (TLS validity is wall-clock time by nature).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TlsFiles", "ensure_certificate", "make_certificate"]

CERT_NAME = "realtime_cert.pem"
KEY_NAME = "realtime_key.pem"


@dataclass(frozen=True, slots=True)
class TlsFiles:
    certificate: Path
    key: Path


def make_certificate(certificate: Path, key: Path, common_name: str = "127.0.0.1") -> TlsFiles:
    """Write a new self-signed ECDSA P-256 certificate for loopback (and its key, mode 0600)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    alt = x509.SubjectAlternativeName(
        [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(alt, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(private, hashes.SHA256())
    )
    key.parent.mkdir(parents=True, exist_ok=True)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    certificate.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return TlsFiles(certificate, key)


def ensure_certificate(keys_dir: Path) -> TlsFiles:
    """The simulator's certificate under ``keys_dir``, made on first use."""
    files = TlsFiles(keys_dir / CERT_NAME, keys_dir / KEY_NAME)
    if files.certificate.is_file() and files.key.is_file():
        return files
    return make_certificate(files.certificate, files.key)
