"""A software WebAuthn authenticator for service tests: makes the JSON a browser posts after
navigator.credentials.create/get (attestation 'none', ES256), signing with a real P-256 key."""
from __future__ import annotations

import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

UP, UV, AT = 0x01, 0x04, 0x40


def _b64(data: bytes) -> str:
    return bytes_to_base64url(data)


@dataclass
class SoftAuthenticator:
    """One authenticator holding credentials (id → private key, user handle), counting signatures."""

    counting: bool = True
    verifies_user: bool = True
    keys: dict[bytes, tuple[ec.EllipticCurvePrivateKey, bytes]] = field(default_factory=dict)
    count: int = 0

    def create(self, options: dict, origin: str) -> dict:
        """The registration response to `options['publicKey']` of services.passkeys.options_for."""
        public = options['publicKey']
        credential_id = secrets.token_bytes(32)
        key = ec.generate_private_key(ec.SECP256R1())
        self.keys[credential_id] = (key, base64url_to_bytes(public['user']['id']))
        numbers = key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, 'big'), -3: numbers.y.to_bytes(32, 'big')})
        attested = bytes(16) + struct.pack('>H', len(credential_id)) + credential_id + cose
        auth_data = self._auth_data(public['rp']['id'], AT) + attested
        client_data = self._client_data('webauthn.create', public['challenge'], origin)
        attestation = cbor2.dumps({'fmt': 'none', 'attStmt': {}, 'authData': auth_data})
        return {'id': _b64(credential_id), 'rawId': _b64(credential_id), 'type': 'public-key',
                'clientExtensionResults': {}, 'authenticatorAttachment': 'platform',
                'response': {'clientDataJSON': _b64(client_data), 'attestationObject': _b64(attestation),
                             'transports': ['internal']}}

    def get(self, options: dict, origin: str, *, rp_id: str | None = None, credential_id: bytes | None = None) -> dict:
        """The assertion for `options['publicKey']` (the first allowed credential, else `credential_id`, else any)."""
        public = options['publicKey']
        allowed = [base64url_to_bytes(c['id']) for c in public.get('allowCredentials') or []]
        credential_id = credential_id or next((c for c in allowed if c in self.keys), None) or next(iter(self.keys))
        key, user_handle = self.keys[credential_id]
        auth_data = self._auth_data(rp_id or public['rpId'], 0)
        client_data = self._client_data('webauthn.get', public['challenge'], origin)
        signature = key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {'id': _b64(credential_id), 'rawId': _b64(credential_id), 'type': 'public-key',
                'clientExtensionResults': {}, 'authenticatorAttachment': 'platform',
                'response': {'clientDataJSON': _b64(client_data), 'authenticatorData': _b64(auth_data),
                             'signature': _b64(signature), 'userHandle': _b64(user_handle)}}

    def _auth_data(self, rp_id: str, extra: int) -> bytes:
        if self.counting:
            self.count += 1
        flags = UP | (UV if self.verifies_user else 0) | extra
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack('>I', self.count)

    @staticmethod
    def _client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps({'type': kind, 'challenge': challenge, 'origin': origin, 'crossOrigin': False}).encode()
