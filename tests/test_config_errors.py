"""Start-up and CLI errors an operator meets: one clear line naming the setting, exit 2 (3: database unreachable).

Every bad configuration runs `main.py` as a subprocess, all of them in parallel, and the test asserts what the
operator sees: the one line, the exit status, and no traceback.
"""
from __future__ import annotations

import fcntl
import os
import socket
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Case:
    name: str
    env: dict[str, str]
    expect: str  # in the one line
    command: tuple[str, ...] = ('serve',)
    code: int = 2
    extra_lines: bool = False  # the database wait logs one line per attempt before the error
    not_shown: tuple[str, ...] = ()
    setup: str = ''
    stdin: str = ''
    result: subprocess.CompletedProcess | None = field(default=None, repr=False)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


CASES = [
    Case('smtp tls', {'SMP_SMTP_TLS': 'bogus'}, "SMP_SMTP_TLS='bogus' is not allowed: use none, starttls or tls"),
    Case('log level', {'SMP_LOG_LEVEL': 'LOUD'}, "SMP_LOG_LEVEL='LOUD' is not allowed: use DEBUG, INFO"),
    Case('log format', {'SMP_LOG_FORMAT': 'xml'}, 'SMP_LOG_FORMAT=\'xml\' is not allowed: use plain or json'),
    Case('argon2 memory huge', {'SMP_ARGON2_MEMORY_KIB': '99999999999'}, 'SMP_ARGON2_MEMORY_KIB=',
         command=('create-user', '--role', 'admin', '--email', 'a@clinic.test'), stdin='a long enough passphrase 42\n'),
    Case('argon2 memory 20 GB', {'SMP_ARGON2_MEMORY_KIB': '20000000'}, 'from 8 to 1048576',
         command=('create-user', '--role', 'admin', '--email', 'a@clinic.test'), stdin='a long enough passphrase 42\n'),
    Case('argon2 memory text', {'SMP_ARGON2_MEMORY_KIB': 'lots'}, 'SMP_ARGON2_MEMORY_KIB=\'lots\'', command=('tick',)),
    Case('argon2 time', {'SMP_ARGON2_TIME_COST': '0'}, 'SMP_ARGON2_TIME_COST=\'0\' is not allowed: use a whole number'),
    Case('port zero', {'SMP_PORT': '0'}, "SMP_PORT='0' is not allowed: use a whole number from 1 to 65535"),
    Case('port too big', {'SMP_PORT': '70000'}, 'SMP_PORT=\'70000\''),
    Case('port text', {'SMP_PORT': 'eighty'}, 'SMP_PORT=\'eighty\''),
    Case('smtp port', {'SMP_SMTP_PORT': '-25'}, 'SMP_SMTP_PORT=\'-25\'', command=('tick',)),
    Case('smtp host', {'SMP_SMTP_HOST': 'mail server'}, 'SMP_SMTP_HOST=\'mail server\'', command=('tick',)),
    Case('scheduler', {'SMP_SCHEDULER': 'maybe'}, 'SMP_SCHEDULER=\'maybe\' is not allowed: use true or false'),
    Case('https cookie', {'SMP_COOKIE_HTTPS_ONLY': 'perhaps'}, 'SMP_COOKIE_HTTPS_ONLY=\'perhaps\''),
    Case('settings cache', {'SMP_SETTINGS_CACHE_SECONDS': '-1'}, 'SMP_SETTINGS_CACHE_SECONDS=\'-1\''),
    Case('database wait', {'SMP_DB_WAIT_SECONDS': '-5'}, 'SMP_DB_WAIT_SECONDS=\'-5\''),
    Case('outbox lease', {'SMP_OUTBOX_LEASE_SECONDS': '5'},
         "SMP_OUTBOX_LEASE_SECONDS='5' is not allowed: use a whole number of seconds from 10 to 3600"),
    Case('webhook allow hosts', {'SMP_WEBHOOK_ALLOW_HOSTS': 'ehr.clinic.local,10.0.0.0/33'},
         "SMP_WEBHOOK_ALLOW_HOSTS='ehr.clinic.local,10.0.0.0/33' is not allowed: use comma-separated host names"),
    Case('webhook allow http', {'SMP_WEBHOOK_ALLOW_HTTP': 'sometimes'}, "SMP_WEBHOOK_ALLOW_HTTP='sometimes'",
         command=('tick',)),
    Case('outbox lease text', {'SMP_OUTBOX_LEASE_SECONDS': 'soon'}, "SMP_OUTBOX_LEASE_SECONDS='soon'", command=('tick',)),
    Case('metrics allow', {'SMP_METRICS_ALLOW': '127.0.0.1,everyone'}, 'SMP_METRICS_ALLOW='),
    Case('base url', {'SMP_BASE_URL': 'portal.clinic.org'}, "SMP_BASE_URL='portal.clinic.org' is not allowed: use an http"),
    Case('mail from', {'SMP_MAIL_FROM': 'nobody'}, 'SMP_MAIL_FROM=\'nobody\' is not allowed: use an email address',
         command=('tick',)),
    Case('database scheme', {'DATABASE_URL': 'mysql://smp:hunter2-pw@db/smp'}, "DATABASE_URL='mysql://smp:***@db/smp'",
         not_shown=('hunter2-pw',)),
    Case('database url text', {'DATABASE_URL': 'the clinic database'}, 'DATABASE_URL=', command=('backup',)),
    Case('postgres unreachable', {'DATABASE_URL': f'postgresql://smp:hunter2-pw@127.0.0.1:{_closed_port()}/smp',
                                  'SMP_DB_WAIT_SECONDS': '1.5'},
         'is unreachable after', code=3, extra_lines=True, not_shown=('hunter2-pw',)),
    Case('sqlite folder missing', {'DATABASE_URL': 'sqlite:///{tmp}/no/such/folder/portal.db'},
         'database error: cannot open SQLite', command=('tick',)),
    Case('data dir is a file', {'SMP_DATA_DIR': '{tmp}/afile/data'}, "SMP_DATA_DIR='", setup='afile'),
    Case('host unknown', {'SMP_HOST': 'no-such-host.invalid'}, "SMP_HOST='no-such-host.invalid' cannot be resolved"),
    Case('host not here', {'SMP_HOST': '192.0.2.77'}, "SMP_HOST='192.0.2.77' cannot be listened on"),
    Case('host characters', {'SMP_HOST': 'bad host!'}, "SMP_HOST='bad host!' is not allowed"),
    Case('port in use', {'SMP_PORT': '{busy}'}, 'is already in use', not_shown=('setup?token',)),
    Case('second process on sqlite', {}, 'another portal process already serves the SQLite database',
         setup='serving', not_shown=('setup?token',)),
    Case('database from the future', {}, 'database error: cannot migrate', command=('check-audit',), setup='future'),
]


def _run(case: Case, tmp: Path, busy: int) -> subprocess.CompletedProcess:
    data = tmp / case.name.replace(' ', '-')
    data.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith(('SMP_', 'PYTEST', 'NICEGUI')) or k == 'DATABASE_URL')}
    env.update(SMP_DATA_DIR=str(data / 'data'), SMP_ARGON2_MEMORY_KIB='256', SMP_ARGON2_TIME_COST='1',
               SMP_PORT=str(_closed_port()))  # each its own: the cases run at once, and `serve` probes its port
    env.update({key: value.format(tmp=data, busy=busy) for key, value in case.env.items()})
    if case.setup == 'afile':
        (data / 'afile').write_text('not a folder')
    if case.setup == 'future':
        (data / 'data').mkdir()
        with sqlite3.connect(data / 'data' / 'portal.db') as conn:
            conn.execute('create table alembic_version (version_num varchar(32) primary key)')
            conn.execute("insert into alembic_version values ('9999_from_a_newer_portal')")
    if case.setup == 'serving':  # a portal already runs on this data directory (it holds the lock)
        (data / 'data').mkdir()
        with open(data / 'data' / 'portal.db.serve-lock', 'a') as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            return subprocess.run([sys.executable, str(ROOT / 'main.py'), *case.command], capture_output=True,
                                  text=True, env=env, cwd=ROOT, timeout=240)
    return subprocess.run([sys.executable, str(ROOT / 'main.py'), *case.command], input=case.stdin,
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=240)


@pytest.fixture(scope='module')
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    tmp = tmp_path_factory.mktemp('config-errors')
    with socket.socket() as busy:
        busy.bind(('127.0.0.1', 0))
        busy.listen()
        port = busy.getsockname()[1]
        with ThreadPoolExecutor(max_workers=6) as pool:
            runs = {case.name: pool.submit(_run, case, tmp, port) for case in CASES}
            for case in CASES:
                case.result = runs[case.name].result()
    return {case.name: case for case in CASES}


def test_there_are_at_least_22_bad_configurations() -> None:
    assert len(CASES) >= 22
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize('name', [case.name for case in CASES])
def test_a_bad_configuration_ends_in_one_clear_line(results: dict[str, Case], name: str) -> None:
    case = results[name]
    result = case.result
    assert result is not None
    output = (result.stdout + result.stderr).strip()
    assert 'Traceback' not in output, output
    assert result.returncode == case.code, output
    lines = output.splitlines()
    if case.extra_lines:
        assert all('is not reachable (attempt' in line for line in lines[:-1]) and len(lines) >= 2, output
    else:
        assert len(lines) == 1, output
    assert case.expect in lines[-1], output
    assert lines[-1] == result.stderr.strip().splitlines()[-1]  # on standard error
    for secret in case.not_shown:
        assert secret not in output
