"""`/healthz`, `/readyz` and `/metrics`: what a load balancer, an orchestrator and Prometheus read."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from nicegui.testing import User

from services import auth, config, health, metrics, outbox, scheduler
from tests import factories
from tests.portal import seed


def _value(text: str, name: str) -> float:
    """The value of one sample line (`name` with its labels) in Prometheus text, 0 when absent."""
    match = re.search(rf'^{re.escape(name)} (\S+)$', text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def test_health_and_readiness_need_no_sign_in_and_tell_no_detail(user: User) -> None:
    response = await user.http_client.get('/healthz')
    assert (response.status_code, response.text) == (200, 'ok\n')
    assert response.headers['cache-control'] == 'no-store'
    assert re.fullmatch(r'[0-9a-f]{12}', response.headers['x-request-id'])
    response = await user.http_client.get('/readyz')
    assert (response.status_code, response.text) == (200, 'ready\n')


@pytest.mark.parametrize('problem', ['scheduler stopped', 'outbox paused', 'migrations behind', 'database gone'])
async def test_readiness_fails_without_saying_why(user: User, monkeypatch: pytest.MonkeyPatch, problem: str,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(health, '_last_problems', ())
    if problem == 'scheduler stopped':
        monkeypatch.setattr(health, '_scheduler', SimpleNamespace(running=False))
        monkeypatch.setattr(health, '_scheduler_expected', True)
        expected = 'scheduler not running'
    elif problem == 'outbox paused':
        monkeypatch.setattr(outbox, 'paused', lambda: True, raising=False)
        expected = 'outbox paused'
    elif problem == 'migrations behind':
        monkeypatch.setattr(health.db, 'current_revision', lambda: '0004')
        expected = 'migrations not current'
    else:
        def gone() -> str:
            raise OSError('connection refused')
        monkeypatch.setattr(health.db, 'current_revision', gone)
        expected = 'database unreachable'
    response = await user.http_client.get('/readyz')
    assert (response.status_code, response.text) == (503, 'not ready\n')
    assert f'not ready: {expected}' in caplog.text  # the operator reads why in the log
    assert (await user.http_client.get('/healthz')).status_code == 200  # the process itself is up


async def test_metrics_count_requests_pages_sign_ins_lockouts_jobs_and_the_outbox(user: User) -> None:
    before = (await user.http_client.get('/metrics')).text
    seed(lambda session: factories.account(session, role='staff', email='nurse@clinic.test'))
    seed(lambda session: outbox.enqueue(session, kind='test_email', to='someone@outside.test',
                                        context={'sent_at': 'now'}))
    for _ in range(5):  # five failures lock the username (signin_max_failures)
        assert auth.sign_in(username='nurse@clinic.test', password='wrong password here', ip_address='10.1.2.3') is None
    assert auth.sign_in(username='other@clinic.test', password='wrong password here', ip_address='10.1.2.3') is None
    await user.open('/login')
    scheduler._guarded(scheduler.PeriodicJob('outbox_test', lambda: None, seconds=60))()  # as each tick runs
    response = await user.http_client.get('/metrics')
    assert response.status_code == 200
    assert response.headers['content-type'].startswith('text/plain; version=')
    text = response.text
    assert _value(text, 'smp_sign_ins_total{result="failure"}') - _value(
        before, 'smp_sign_ins_total{result="failure"}') == 6
    assert _value(text, 'smp_lockouts_total{scope="sign_in"}') - _value(before, 'smp_lockouts_total{scope="sign_in"}') == 1
    assert _value(text, 'smp_page_builds_total{route="/login"}') > _value(before, 'smp_page_builds_total{route="/login"}')
    assert _value(text, 'smp_http_requests_total{method="GET",status="2xx"}') > _value(
        before, 'smp_http_requests_total{method="GET",status="2xx"}')
    assert _value(text, 'smp_job_runs_total{job="outbox_test",result="success"}') >= 1
    assert 'smp_job_duration_seconds_count{job="outbox_test"}' in text
    assert _value(text, 'smp_outbox_emails{status="pending"}') == 1
    assert _value(text, 'smp_outbox_oldest_waiting_seconds') >= 0
    assert 'smp_connected_clients ' in text
    assert 'nurse@clinic.test' not in text and '10.1.2.3' not in text  # no person, no address in a label


async def test_metrics_are_refused_to_addresses_not_allowed(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('SMP_METRICS_ALLOW', '10.0.0.0/8')
    config.reload_config()
    response = await user.http_client.get('/metrics')  # the test client comes from 127.0.0.1
    assert response.status_code == 404
    assert 'smp_' not in response.text


def test_a_failing_job_is_counted_and_logged_not_raised() -> None:
    def broken() -> None:
        raise RuntimeError('boom')
    scheduler._guarded(scheduler.PeriodicJob('broken_test', broken, seconds=60))()  # the next tick still runs
    assert _value(metrics.render().decode(), 'smp_job_runs_total{job="broken_test",result="failure"}') == 1
