"""Secure Message Portal: start-up (config, database, migrations, scheduler, pages) and CLI commands.

    python main.py                 serve the portal (same as `serve`)
    python main.py create-user --role staff --email a@b.org
    python main.py demo            load a demo clinic
    python main.py backup          consistent copy of database and files
    python main.py check-audit     verify the audit log's hash chain
"""
from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

if 'nicegui' not in sys.modules:  # NiceGUI reads its storage path at import: keep it in the data directory
    _data = Path(os.environ.get('SMP_DATA_DIR', './data'))
    os.environ.setdefault('NICEGUI_STORAGE_PATH', str((_data / 'nicegui-storage').resolve()))

from nicegui import app, ui  # noqa: E402

import pages  # noqa: E402
from services import auth, backup, config as config_module, db, jobs, logsafe, passwords, scheduler, settings  # noqa: E402
from services.errors import PortalError  # noqa: E402
from services.validate import email as valid_email  # noqa: E402

log = logging.getLogger('smp')
SECURITY_HEADERS = [
    (b'referrer-policy', b'no-referrer'),
    (b'x-content-type-options', b'nosniff'),
    (b'x-frame-options', b'SAMEORIGIN'),
    (b'permissions-policy', b'camera=(), microphone=(), geolocation=()'),
]


class SecurityHeaders:
    """ASGI middleware adding the headers every response needs (no referrer leaks codes in URLs)."""

    def __init__(self, asgi_app) -> None:
        self.app = asgi_app

    async def __call__(self, scope, receive, send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message['type'] == 'http.response.start':
                headers = list(message.get('headers', []))
                present = {name.lower() for name, _ in headers}
                message['headers'] = headers + [h for h in SECURITY_HEADERS if h[0] not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def prepare() -> config_module.Config:
    """Read configuration, open and migrate the database (everything but the web server)."""
    config = config_module.reload_config()
    logging.basicConfig(level=config.log_level, format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    logsafe.install()  # no code or token from a URL reaches a log line
    db.init(config.resolved_database_url)
    db.migrate()
    settings.invalidate_cache()
    return config


def serve() -> None:
    """Start the portal on SMP_HOST:SMP_PORT."""
    config = prepare()
    jobs.register_all()
    passwords.common_passwords()  # load the blocklist now, not on the first keystroke in a password field
    pages.register_all()
    app.add_middleware(SecurityHeaders)
    if not app.is_started:  # (the test runner re-runs this file in a started app)
        app.on_startup(logsafe.install)  # again, on the handlers the web server configured meanwhile
    if config.scheduler:
        app.on_startup(scheduler.start)
        app.on_shutdown(scheduler.stop)
    with db.transaction() as session:
        token = auth.issue_setup_token(session)
        base = settings.get_settings(session).public_url
    if token:
        print(f'\nNo administrator yet. Open this one-time link to create one:\n  {base}/setup?token={token}\n', flush=True)
    ui.run(host=config.host, port=config.port, title='Secure Message Portal', reload=False, show=False,
           storage_secret=config_module.persistent_secret('storage_secret'),
           session_middleware_kwargs={'https_only': config.cookie_https_only, 'same_site': 'lax'},
           favicon='🏥', uvicorn_logging_level=config.log_level.lower())


def create_user(role: str, email: str, name: str) -> int:
    """CLI: create a staff or admin account; the password comes from a prompt or standard input."""
    prepare()
    try:
        address = valid_email(email)
        if sys.stdin.isatty():
            password = getpass.getpass('Password: ')
            confirm = getpass.getpass('Repeat password: ')
        else:
            password = sys.stdin.readline().rstrip('\n')
            confirm = password
        password_hash = passwords.accept_new_password(password, confirm, username=address, email=address)
        with db.transaction() as session:
            auth.create_account(session, email=address, password_hash=password_hash, role=role,
                                display_name=name or address)
    except PortalError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    print(f'Created {role} account {address}.')
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='main.py', description='Secure Message Portal')
    commands = parser.add_subparsers(dest='command')
    commands.add_parser('serve', help='start the portal (default)')
    user = commands.add_parser('create-user', help='create a staff or admin account')
    user.add_argument('--role', choices=['staff', 'admin'], required=True)
    user.add_argument('--email', required=True)
    user.add_argument('--name', default='')
    commands.add_parser('demo', help='load a demo clinic (charts, documents, a staff user, contacts, shares)')
    copy = commands.add_parser('backup', help='consistent copy of database and files')
    copy.add_argument('--to', type=Path, default=None, help='target folder (default: data/backups/<time>)')
    commands.add_parser('check-audit', help="verify the audit log's hash chain")
    commands.add_parser('tick', help='run every scheduler job once (e.g. from cron) and exit')
    args = parser.parse_args(argv)

    if args.command in (None, 'serve'):
        serve()
        return 0
    if args.command == 'create-user':
        return create_user(args.role, args.email, args.name)
    if args.command == 'demo':
        prepare()
        from services import demo
        print(demo.load_demo())
        return 0
    if args.command == 'backup':
        prepare()
        print(f'Backup written to {backup.backup(args.to)}')
        return 0
    if args.command == 'check-audit':
        prepare()
        from services import audit
        with db.transaction() as session:
            problems = audit.verify_chain(session)
        for problem in problems:
            print(f'audit event {problem.event_id}: {problem.reason}')
        print('audit log chain: ' + ('OK' if not problems else f'{len(problems)} problem(s)'))
        return 1 if problems else 0
    if args.command == 'tick':
        prepare()
        jobs.register_all()
        scheduler.run_all_once()
        return 0
    return 2


if __name__ in {'__main__', '__mp_main__'}:
    if os.environ.get('NICEGUI_USER_SIMULATION'):
        serve()  # the test runner executes this file for every test
    else:
        sys.exit(main())
