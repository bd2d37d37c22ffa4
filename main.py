"""Secure Message Portal: start-up (config, database, migrations, scheduler, pages) and CLI commands.

    python main.py                 serve the portal (same as `serve`)
    python main.py create-user --role staff --email a@b.org
    python main.py demo            load a demo clinic
    python main.py backup          consistent copy of database and files
    python main.py restore DIR     restore a backup into an empty data directory and database, and verify it
    python main.py check-audit     verify the audit log's keyed chain against its anchors
    python main.py migrate         apply database migrations and exit
"""
from __future__ import annotations

import argparse
import errno
import fcntl
import getpass
import logging
import os
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

if __name__ == '__main__' and not os.environ.get('NICEGUI_USER_SIMULATION') and not {'-h', '--help'} & set(sys.argv):
    # a bad setting is reported in one line before the web framework is even imported
    from services.config import ConfigError, get_config
    try:
        get_config()
    except ConfigError as _error:
        print(_error, file=sys.stderr)
        sys.exit(2)

if 'nicegui' not in sys.modules:  # NiceGUI reads its storage path at import: keep it in the data directory
    _data = Path(os.environ.get('SMP_DATA_DIR', './data'))
    os.environ.setdefault('NICEGUI_STORAGE_PATH', str((_data / 'nicegui-storage').resolve()))

from nicegui import app, ui  # noqa: E402
from starlette.middleware.gzip import GZipMiddleware  # noqa: E402

import api  # noqa: E402
import pages  # noqa: E402
from pages import asgi_middlewares  # noqa: E402
from pages.page_turns import AnonymousPageTurns  # noqa: E402
from pages.upload_limit import UploadLimit  # noqa: E402
from services import audit, auth, backup, config as config_module, db, jobs, logsafe, passwords, scheduler, settings  # noqa: E402,E501
from services import collector, health, logging_setup  # noqa: E402
from alembic.util.exc import CommandError  # noqa: E402
from services.errors import PortalError  # noqa: E402
from services.validate import email as valid_email  # noqa: E402

log = logging.getLogger('smp')
# NiceGUI 3.18 renders with Vue's in-browser template compiler and an inline start-up script, so scripts need
# 'unsafe-inline' and 'unsafe-eval' (measured in Chromium on every page: tests/security); everything else is
# locked to this origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; frame-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'self'; form-action 'self'"
)
SECURITY_HEADERS = [
    (b'referrer-policy', b'no-referrer'),
    (b'x-content-type-options', b'nosniff'),
    (b'x-frame-options', b'SAMEORIGIN'),
    (b'permissions-policy', b'camera=(), microphone=(), geolocation=()'),
    (b'content-security-policy', CONTENT_SECURITY_POLICY.encode()),
]
STATIC_PREFIX = '/_nicegui/'  # NiceGUI's own scripts and styles: the only responses that may be cached


class SecurityHeaders:
    """ASGI middleware adding the headers every response needs: no referrer (codes travel in URLs), a CSP,
    HSTS behind HTTPS, and no caching of anything but NiceGUI's static files (pages carry PHI)."""

    def __init__(self, asgi_app, https: bool = False) -> None:
        self.app = asgi_app
        self.headers = SECURITY_HEADERS + (
            [(b'strict-transport-security', b'max-age=31536000; includeSubDomains')] if https else [])

    async def __call__(self, scope, receive, send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        extra = self.headers if scope.get('path', '').startswith(STATIC_PREFIX) \
            else self.headers + [(b'cache-control', b'no-store')]

        async def send_with_headers(message) -> None:
            if message['type'] == 'http.response.start':
                headers = list(message.get('headers', []))
                present = {name.lower() for name, _ in headers}
                message['headers'] = headers + [h for h in extra if h[0] not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def prepare() -> config_module.Config:
    """Read configuration, open and migrate the database (everything but the web server).

    Raises ConfigError or DatabaseUnavailable with a one-line message (`main` prints it and exits 2 or 3).
    """
    config = config_module.reload_config()
    logging_setup.configure(config.log_level, config.log_format)  # one format, request ids, alembic quiet
    logsafe.install()  # no code or token from a URL reaches a log line
    db.init(config.resolved_database_url)
    db.wait_until_reachable(config.db_wait_seconds)
    try:
        db.migrate()
    except CommandError as error:  # e.g. a database migrated by a newer version of the portal
        raise config_module.ConfigError(f'database error: cannot migrate {db.where()} ({error}): '
                                        f'run the portal version that last used this database') from None
    settings.invalidate_cache()
    return config


def check_listen(host: str, port: int) -> None:
    """ConfigError (one line) when the portal could not listen on host:port, before anything is printed."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as error:
        raise config_module.ConfigError(f'configuration error: SMP_HOST={host!r} cannot be resolved '
                                        f'({error.strerror}): use {config_module.ALLOWED["host"]}') from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the web server does
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise config_module.ConfigError(
                    f'start-up error: SMP_PORT={port} on {host} is already in use: stop the other process or '
                    f'choose another port') from None
            raise config_module.ConfigError(f'configuration error: SMP_HOST={host!r} cannot be listened on '
                                            f'({error.strerror}): use an address of this machine') from None


_serve_lock = None  # the open lock file of an SQLite portal, held until the process ends


def one_process_on_sqlite(config: config_module.Config) -> None:
    """Refuse a second portal process on one SQLite database (its pages, sessions and files are this machine's,
    and NiceGUI keeps each browser tab in one process): several processes need PostgreSQL and a shared volume."""
    global _serve_lock
    url = config.resolved_database_url
    if not url.startswith('sqlite') or _serve_lock is not None:
        return
    database = Path(url.split('///', 1)[-1]) if '///' in url else config.data_dir / 'portal.db'
    handle = open(database.with_name(database.name + '.serve-lock'), 'a')  # held until the process ends
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise config_module.ConfigError(
            f'start-up error: another portal process already serves the SQLite database {database}: SQLite allows one '
            f'process; to run several, use PostgreSQL (DATABASE_URL) and a shared SMP_DATA_DIR') from None
    _serve_lock = handle


def serve() -> None:
    """Start the portal on SMP_HOST:SMP_PORT."""
    if not os.environ.get('NICEGUI_USER_SIMULATION'):
        startup_config = config_module.reload_config()
        check_listen(startup_config.host, startup_config.port)
        one_process_on_sqlite(startup_config)
    config = prepare()
    audit.chain_key()  # created on first start, in the secrets folder (never in the database)
    jobs.register_all()
    passwords.common_passwords()  # load the blocklist now, not on the first keystroke in a password field
    pages.register_all()
    api.register(app)  # the EHR API under /api/v1 (FastAPI routes, outside the page registry)
    app.add_middleware(UploadLimit)
    app.add_middleware(SecurityHeaders, https=config.cookie_https_only)
    app.add_middleware(AnonymousPageTurns)  # a burst of sign-in pages waits behind itself (pages/page_turns.py)
    app.add_middleware(logging_setup.RequestContext)  # outermost: a request id on every line, requests counted
    if not app.is_started:  # (the test runner re-runs this file in a started app)
        app.on_startup(logging_setup.adopt_web_server_loggers)  # one format for the web server's lines too
        app.on_startup(logsafe.install)  # again, on the handlers the web server configured meanwhile
        collector.tune()  # fewer, later pauses of the event loop for garbage collection (services/collector.py)
        app.on_startup(collector.freeze_startup_objects)  # the collector skips startup objects
        app.on_delete(collector.page_closed)  # a full collection after 200 closed pages, when quiet
    if config.scheduler:
        app.on_startup(start_scheduler)
        app.on_shutdown(stop_scheduler)
    with db.transaction() as session:
        token = auth.issue_setup_token(session)
        base = settings.get_settings(session).public_url
    if token:
        print(f'\nNo administrator yet. Open this one-time link to create one:\n  {base}/setup?token={token}\n', flush=True)
    app.config.quasar_config.setdefault('lang', {})['noHtmlAttrs'] = True  # the page's lang stays SMP_LANGUAGE
    asgi_middlewares.install()  # NiceGUI's two always-on middlewares without BaseHTTPMiddleware's extra task
    ui.run(host=config.host, port=config.port, title='Secure Message Portal', reload=False, show=False,
           language=config.language,  # type: ignore[arg-type]  (any BCP 47 tag; Quasar falls back to en-US)
           storage_secret=config_module.persistent_secret('storage_secret'),
           session_middleware_kwargs={'https_only': config.cookie_https_only, 'same_site': 'lax'},
           favicon=ROOT / 'assets' / 'favicon.svg',  # a file: an emoji is turned into a data URL on every page open
           uvicorn_logging_level=config.log_level.lower(), log_config=None,
           # level 5: half the CPU of the default 9 for a page answer 2% larger (issue 15)
           gzip_middleware_factory=lambda asgi: GZipMiddleware(asgi, minimum_size=500, compresslevel=5),
           access_log=False)  # services.logging_setup writes the request lines, with the request id


def start_scheduler() -> None:
    """Start the periodic jobs (the scheduler counts and times each run); readiness watches the scheduler."""
    health.scheduler_started(scheduler.start())


def stop_scheduler():  # noqa: ANN201 (scheduler.stop's awaitable: NiceGUI waits for running jobs to hand back)
    """Stop the periodic jobs (a clean stop is not a readiness failure); claimed emails are released."""
    health.scheduler_stopped()
    return scheduler.stop()


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


def restore(source: Path, *, force: bool) -> int:
    """CLI: restore a backup (no migration first: the backup brings its schema; migrated after, if older)."""
    from services import restore as restore_module
    config = config_module.reload_config()
    logging.basicConfig(level=config.log_level, format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    db.init(config.resolved_database_url)
    try:
        result = restore_module.restore(source, force=force)
    except PortalError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    print(result.summary())
    if not result.ok:
        return 1
    db.migrate()  # a backup of an older version is brought up to this one
    return 0


CHECK_AUDIT_HELP = """\
Verify the audit log and print what is wrong, each finding with the first bad sequence number.

Every audit event has a gapless sequence number and a hash that is an HMAC over its content and the
previous event's hash, under the key in SMP_DATA_DIR/secrets/audit_chain_key (never in the database).
The head of the chain is also anchored outside the database: appended to the anchor file
(SMP_AUDIT_ANCHOR_FILE) every N events and M minutes (admin settings), recorded in the database, and
optionally emailed to the admins daily.

It checks, and reports:
  - events missing at the start, in the middle (gaps) or at the end: "events 812-840 are missing;
    last anchor at 840" (the end is known from the anchors), and a wiped (empty) log;
  - edited events (the content no longer matches its keyed hash);
  - chains rewritten without the key: edited and recomputed, renumbered, reordered, or an event
    inserted or forged;
  - events that differ from an anchor (a chain rewritten even with the key);
  - the anchor file: lines edited or forged (each carries a MAC), removed, or the whole file replaced
    by an older copy (the database records every anchor written to it);
  - rows without a sequence number (inserted outside the portal).

The check only reads: it never creates a key or writes an anchor. Exit status 0 when the log is intact,
1 when anything above was found.
"""


def _expected_anchor(text: str) -> tuple[int, str]:
    seq, sep, value = text.partition(':')
    if not sep or not seq.strip().isdigit() or len(value.strip()) != 64:
        raise argparse.ArgumentTypeError('use SEQ:HASH, e.g. 1840:3f1c... (the 64-character hash)')
    return int(seq), value.strip().lower()


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
    back = commands.add_parser('restore', help='restore a backup into an empty data directory and database, verified')
    back.add_argument('backup', type=Path, help='the backup folder (written by `backup`)')
    back.add_argument('--force', action='store_true',
                      help='replace an existing data directory and database (a safety backup is taken first)')
    check = commands.add_parser(
        'check-audit', help="verify the audit log's keyed chain against its anchors (exit 1 when tampered)",
        description=CHECK_AUDIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument('--anchor-file', type=Path, default=None, metavar='PATH',
                       help='the anchor file to check against (default: SMP_AUDIT_ANCHOR_FILE, else '
                            'SMP_DATA_DIR/audit-anchors.log)')
    check.add_argument('--expect', action='append', default=[], metavar='SEQ:HASH', type=_expected_anchor,
                       help='also check against an anchor kept elsewhere, e.g. from the daily security email '
                            '(repeatable)')
    commands.add_parser('migrate', help='apply database migrations and exit (any number of processes may run it at once)')
    commands.add_parser('tick', help='run every scheduler job once (e.g. from cron) and exit')
    args = parser.parse_args(argv)
    try:
        return run_command(args)
    except config_module.ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    except db.DatabaseUnavailable as error:
        print(error, file=sys.stderr)
        return error.exit_code


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command; configuration and database errors propagate to `main` as one line."""
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
        try:
            print(f'Backup written to {backup.backup(args.to)}')
        except PortalError as error:
            print(f'error: {error}', file=sys.stderr)
            return 2
        return 0
    if args.command == 'restore':
        return restore(args.backup, force=args.force)
    if args.command == 'check-audit':
        prepare()
        from services import audit_verify
        with db.transaction() as session:
            report = audit_verify.verify(session, anchor_file=args.anchor_file, expected=args.expect)
        print(audit_verify.format_report(report))
        return 0 if report.ok else 1
    if args.command == 'migrate':
        prepare()
        print(f'{db.where()} is at revision {db.current_revision()}.')
        return 0
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
