"""Issue 12 item 6: no code or token in a log line, codes in queued emails encrypted and wiped once sent or
cancelled, and pg_dump never gets the database password on its command line."""
from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlmodel import select

from models import OutboxEmail
from models.shapes import Actor
from services import activation, backup, db, email_admin, logsafe, outbox, secretbox
from services.errors import InvalidInput
from tests import factories
from tests.browser import _free_port
from tests.smtp import html_body, text_body

ROOT = Path(__file__).resolve().parents[2]
ADMIN = Actor(username='admin@clinic.test', role='admin')


# ----------------------------------------------------------------------------- logs

def test_the_access_log_line_keeps_the_path_but_not_the_code() -> None:
    from uvicorn.logging import AccessFormatter
    record = logging.LogRecord('uvicorn.access', logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ('10.0.0.1:5000', 'GET', '/activate?code=K7QFM2XD9RTW4HPA&existing=1', '1.1', 200), None)
    assert logsafe.RedactSecrets().filter(record)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False).format(record)
    assert line == '10.0.0.1:5000 - "GET /activate?code=[redacted]&existing=1 HTTP/1.1" 200 OK'
    for url in ('/setup?token=abc123', '/forgot-password?reset_code=123456', '/x?session=s3cr3t',
                '/login?next=%2Factivate%3Fcode%3DK7QFM2XD9RTW4HPA'):
        assert not any(secret in logsafe.redact(url) for secret in ('abc123', '123456', 's3cr3t', 'K7QFM2XD9RTW4HPA'))
    assert logsafe.redact('GET /staff/chart/12?page=2') == 'GET /staff/chart/12?page=2'


def test_the_running_portal_logs_requests_without_their_codes(portal_env: Path) -> None:
    port = _free_port()
    env = dict(os.environ, SMP_PORT=str(port), SMP_LOG_LEVEL='INFO', PYTHONUNBUFFERED='1', SMP_SCHEDULER='false')
    for key in [k for k in env if k.startswith('PYTEST') or k == 'NICEGUI_USER_SIMULATION']:
        env.pop(key)
    env['NICEGUI_STORAGE_PATH'] = str(portal_env / 'nicegui-storage')
    log_path = portal_env / 'server.log'
    with open(log_path, 'w') as log:
        process = subprocess.Popen([sys.executable, str(ROOT / 'main.py')], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            base = f'http://127.0.0.1:{port}'
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(base + '/login', timeout=2)
                    break
                except Exception:
                    assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
                    time.sleep(0.2)
            for path in ('/activate?code=K7QFM2XD9RTW4HPA', '/setup?token=NOT-THE-PRINTED-TOKEN-42',
                         '/activate?code=K7QFM2XD9RTW4HPA&existing=1'):
                urllib.request.urlopen(base + path, timeout=20).read()
            time.sleep(0.5)
        finally:
            process.terminate()
            process.wait(timeout=20)
    text = log_path.read_text(errors='replace')
    assert 'GET /activate?code=[redacted] HTTP/1.1' in text, text  # the request was logged ...
    assert 'GET /setup?token=[redacted] HTTP/1.1' in text, text
    assert 'K7QFM2XD9RTW4HPA' not in text and 'NOT-THE-PRINTED-TOKEN-42' not in text  # ... without its secret


# ----------------------------------------------------------------------------- the outbox

def _invite(email: str = 'dr.jones@outside.test') -> tuple[int, str]:
    def make(session):
        contact = factories.contact(session, email=email)
        issued = activation.issue_code(session, contact=contact, actor=None)
        return issued.activation_code_id, issued.code
    return db.run(make)


def _raw_row(email_id: int) -> str:
    """Everything the database holds for one outbox row, as a pg_dump or a copied SQLite file would show it."""
    with db.engine().connect() as conn:
        row = conn.execute(sa.text('SELECT * FROM outbox_email WHERE id = :id'), {'id': email_id}).mappings().one()
    return json.dumps(dict(row), default=str)


def _only(kind: str) -> OutboxEmail:
    return db.run(lambda session: session.exec(select(OutboxEmail).where(OutboxEmail.kind == kind)).one())


def test_a_queued_invitation_holds_its_code_only_encrypted(database) -> None:
    _, code = _invite()
    email = _only('invitation')
    raw = _raw_row(email.id)
    compact = activation.normalize_code(code)
    assert code not in raw and compact not in raw
    assert email.sealed_secrets.startswith('enc:')
    sealed = json.loads(secretbox.decrypt(email.sealed_secrets))
    assert sealed['activation_code'] == code and compact in sealed['activate_url']
    subject, html, text = outbox.compose(email)  # what the recipient gets
    assert code in text and f'code={compact}' in text and f'code={compact}&amp;existing=1' in html


def test_the_code_is_wiped_once_the_email_is_sent(database, smtp_server) -> None:
    _, code = _invite()
    assert outbox.process_outbox() == {'sent': 1}
    [message] = smtp_server.wait_for('dr.jones@outside.test')
    assert code in text_body(message) and activation.normalize_code(code) in html_body(message)  # delivered ...
    email = _only('invitation')
    assert email.sealed_secrets is None and code not in _raw_row(email.id)  # ... and gone from the database
    with db.transaction() as session:  # the admin reads the email as sent, the code marked removed
        shown = outbox.get_email(session, actor=ADMIN, email_id=email.id)
    assert outbox.REMOVED in shown.body_text and code not in shown.body_text


def test_a_cancelled_email_loses_its_code_and_is_not_resent_without_it(database) -> None:
    _, code = _invite()
    email = _only('invitation')
    with db.transaction() as session:
        assert email_admin.cancel_email(session, email_id=email.id, actor=ADMIN).status == 'cancelled'
    assert _only('invitation').sealed_secrets is None
    with pytest.raises(InvalidInput, match='send a new code'), db.transaction() as session:
        email_admin.retry_email(session, email_id=email.id, actor=ADMIN)


def test_a_failed_email_loses_its_code(database, smtp_server) -> None:
    smtp_server.reject.add('gone@outside.test')
    _invite('gone@outside.test')
    assert outbox.process_outbox() == {'failed': 1}
    assert _only('invitation').sealed_secrets is None


def test_reset_and_verification_codes_are_sealed_too(database) -> None:
    from services import contact_accounts
    db.run(lambda session: factories.contact_account(session, factories.contact(session, email='x@outside.test')))
    contact_accounts.request_password_reset(email='x@outside.test', ip_address=None)
    email = _only('password_reset')
    code = factories.code_in(email, 'reset_code')
    assert code not in _raw_row(email.id)


def test_the_outbox_shows_an_admin_an_unsent_code_and_audits_it(database) -> None:
    _, code = _invite()
    email = _only('invitation')
    with db.transaction() as session:
        rows, _ = outbox.list_emails(session, actor=ADMIN)
        assert code not in rows[0].body_text and outbox.HIDDEN in rows[0].body_text
        shown = outbox.get_email(session, actor=ADMIN, email_id=email.id)
    assert code in shown.body_text  # no mail server yet: the admin passes the invitation on
    actions = db.run(lambda session: [e for e in session.exec(sa.text("SELECT action FROM audit_event")).scalars()])
    assert 'outbox_codes_viewed' in actions


def test_the_migration_seals_codes_queued_before_it(database) -> None:
    from alembic import command
    _, code = _invite()
    command.downgrade(db.alembic_config(), '0002')
    with db.engine().connect() as conn:
        body = conn.execute(sa.text("SELECT body_text FROM outbox_email")).scalar_one()
    assert code in body  # 0002 kept codes in plain text (the downgrade restored them)
    command.upgrade(db.alembic_config(), 'heads')
    email = _only('invitation')
    assert code not in _raw_row(email.id) and code in outbox.compose(email)[2]


# ----------------------------------------------------------------------------- backups

def test_pg_dump_gets_the_password_in_its_environment_only(tmp_path: Path, monkeypatch) -> None:
    fake = tmp_path / 'pg_dump'
    seen = tmp_path / 'seen.json'
    fake.write_text('#!/usr/bin/env python3\nimport json, os, sys\n'
                    f'json.dump({{"argv": sys.argv, "password": os.environ.get("PGPASSWORD")}}, open({str(seen)!r}, "w"))\n'
                    'open([a for a in sys.argv if a.startswith("--file=")][0][7:], "w").write("dump")\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(backup.shutil, 'which', lambda name: str(fake) if name == 'pg_dump' else None)

    class _Connection:  # the exported snapshot the dump reads (backup counts rows in it first)
        def __enter__(self):
            return self

        def __exit__(self, *exc) -> bool:
            return False

        def execution_options(self, **options):
            return self

        def begin(self):
            return self

        def execute(self, statement):
            return SimpleNamespace(scalar_one=lambda: '00000003-00000002-1')

    class _Engine:
        url = sa.engine.make_url('postgresql+psycopg://smp:Sup3r%40Secret@db.clinic.test:5433/smp?sslmode=require')

        def connect(self) -> _Connection:
            return _Connection()

    monkeypatch.setattr(backup.db, 'engine', lambda: _Engine())
    monkeypatch.setattr(backup, '_counts', lambda engine, conn=None: {})
    target = backup.backup(tmp_path / 'backup')
    recorded = json.loads(seen.read_text())
    assert recorded['password'] == 'Sup3r@Secret'
    assert not any('Sup3r' in arg for arg in recorded['argv'])
    assert '--dbname=postgresql://smp@db.clinic.test:5433/smp?sslmode=require' in recorded['argv']
    assert '--snapshot=00000003-00000002-1' in recorded['argv']
    assert (target / 'portal.pgdump').read_text() == 'dump'


def test_a_real_pg_dump_runs_with_the_password_from_the_environment(database, tmp_path: Path, monkeypatch) -> None:
    if not database.startswith('postgresql'):
        pytest.skip('PostgreSQL only')
    calls = []
    real_run = subprocess.run

    def spy(args, **kwargs):
        calls.append((args, kwargs.get('env', {})))
        return real_run(args, **kwargs)

    url = sa.engine.make_url(database).set(password='not-on-the-command-line')
    with monkeypatch.context() as patch:
        patch.setattr(backup.subprocess, 'run', spy)
        real = backup.db.engine()  # the real database, seen under a URL that carries a password
        patch.setattr(backup.db, 'engine', lambda: SimpleNamespace(url=url, connect=real.connect))
        target = backup.backup(tmp_path / 'pg')
    [(args, env)] = calls
    assert not any('not-on-the-command-line' in a for a in args) and env['PGPASSWORD'] == 'not-on-the-command-line'
    assert (target / 'portal.pgdump').stat().st_size > 0
