"""Tables (SQLModel) and the data shapes pages receive."""
from .alerts import StaffAlertLog, StaffAlertPref
from .accounts import Account, AccountContact, Throttle, UserSession, VerificationCode
from .activation import ActivationCode
from .api import ApiClient, ApiIdempotentResult, Webhook, WebhookDelivery
from .audit import AuditAnchor, AuditEvent
from .clinic import RECEIVED_DOCUMENT, Chart, Contact, Document, Share, StoredFile
from .outbox import EmailTemplate, OutboxEmail, OutboxState
from .passkeys import Passkey, PasskeyCeremony
from .receipts import ActionReceipt
from .registration import Registration, RegistrationFile, RegistrationToken
from .replies import Reply, ReplyAttachment
from .second_factor import RecoveryCode, TotpFactor, TrustedBrowser
from .settings import Setting

__all__ = [
    'Account', 'ActionReceipt', 'AccountContact', 'ActivationCode', 'ApiClient', 'ApiIdempotentResult', 'AuditAnchor',
    'AuditEvent', 'Chart', 'Contact', 'Document', 'EmailTemplate', 'OutboxEmail', 'OutboxState', 'RECEIVED_DOCUMENT',
    'RecoveryCode', 'Registration', 'RegistrationFile', 'TotpFactor', 'TrustedBrowser',
    'RegistrationToken', 'Reply', 'ReplyAttachment', 'Setting', 'Share', 'StaffAlertLog', 'StaffAlertPref', 'StoredFile', 'Throttle',
    'UserSession', 'VerificationCode', 'Webhook', 'WebhookDelivery',
    'Passkey', 'PasskeyCeremony',
]
