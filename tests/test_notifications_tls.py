"""STARTTLS verifies the server's certificate: an untrusted certificate is refused with a clear answer."""
from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from models.shapes import Actor
from services import config, email_admin, settings
from tests.smtp import SmtpServer, _Handler

ADMIN = Actor(username='admin@clinic.test', role='admin')


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, '127.0.0.1')])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / 'cert.pem', folder / 'key.pem'
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class StartTlsServer(SmtpServer):
    """The test SMTP server, offering STARTTLS with a self-signed certificate."""

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__()
        self.context = context

    def start(self) -> None:
        self._controller = Controller(_Handler(self), hostname='127.0.0.1', port=self.port, tls_context=self.context,
                                      require_starttls=True)
        self._controller.start()


@pytest.fixture
def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cert_file, key_file = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    server = StartTlsServer(context)
    server.start()
    server.cert_file = cert_file
    monkeypatch.setenv('SMP_SMTP_HOST', '127.0.0.1')
    monkeypatch.setenv('SMP_SMTP_PORT', str(server.port))
    monkeypatch.setenv('SMP_SMTP_TLS', 'starttls')
    monkeypatch.setenv('SMP_MAIL_FROM', 'portal@clinic.test')
    config.reload_config()
    settings.invalidate_cache()
    yield server
    server.stop()


def test_an_untrusted_certificate_is_refused(database, tls_server, monkeypatch) -> None:
    monkeypatch.delenv('SSL_CERT_FILE', raising=False)
    result = email_admin.send_test_email(to='admin@clinic.test', actor=ADMIN)
    assert not result.ok
    assert 'CERTIFICATE_VERIFY_FAILED' in result.answer
    assert tls_server.messages == []


def test_a_trusted_certificate_is_accepted(database, tls_server, monkeypatch) -> None:
    monkeypatch.setenv('SSL_CERT_FILE', str(tls_server.cert_file))  # trust this certificate, like a clinic's CA
    result = email_admin.send_test_email(to='admin@clinic.test', actor=ADMIN)
    assert result.ok, result.answer
    tls_server.wait_for('admin@clinic.test')
