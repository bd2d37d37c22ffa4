"""Chart search finds a chart the ways staff type it: "Last, First", "First Last", parts of names, the date of birth
in the formats shown, external ids ignoring case and punctuation. Every query runs on SQLite and PostgreSQL (one
database per module and engine: the charts are written once)."""
from __future__ import annotations

import shutil
import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from models import Chart
from models.shapes import Actor
from services import charts
from tests.conftest import PG_URL, _pg_url

STAFF = Actor(account_id=1, role='staff')
CHARTS = {  # key: first, last, date of birth, external id
    'lee': ('Pat', 'Lee', date(1980, 5, 17), 'EMP-1001'),
    'leeds': ('Robin', 'Leeds', date(1975, 12, 1), 'emp_2002'),
    'obrien': ('Sean', "O'Brien", date(1990, 1, 2), 'A.77/3'),
    'smith': ('Mary Ann', 'Smith-Jones', date(1980, 5, 18), None),
}
CASES = [  # query → the charts it finds (any order)
    ('Lee, Pat', {'lee'}),
    ('lee,pat', {'lee'}),
    ('Pat Lee', {'lee'}),
    ('Lee Pat', {'lee'}),
    ('pa le', {'lee'}),
    ('Lee', {'lee', 'leeds'}),
    ('LEEDS', {'leeds'}),
    ('Leeds, Robin', {'leeds'}),
    ("o'brien", {'obrien'}),
    ('Smith-Jones, Mary Ann', {'smith'}),
    ('mary smith', {'smith'}),
    ('1980-05-17', {'lee'}),
    ('05/17/1980', {'lee'}),
    ('5/17/1980', {'lee'}),
    ('17.05.1980', {'lee'}),
    ('Lee 1980-05-17', {'lee'}),
    ('emp1001', {'lee'}),
    ('EMP-1001', {'lee'}),
    ('emp 1001', {'lee'}),
    ('Emp_1001', {'lee'}),
    ('emp2002', {'leeds'}),
    ('a773', {'obrien'}),
    ('emp', {'lee', 'leeds'}),
    ('Nobody', set()),
    ('%', set()),
    ('Lee, Sean', set()),
    ('Lee, Robin', {'leeds'}),  # partial: Leeds starts with Lee
]


@pytest.fixture(scope='module', params=['sqlite', 'postgresql'])
def searched(request: pytest.FixtureRequest, sqlite_template, tmp_path_factory):
    """A migrated database holding CHARTS, and the ids of the charts by key."""
    if request.param == 'sqlite':
        path = tmp_path_factory.mktemp('search') / 'search.db'
        shutil.copy(sqlite_template, path)
        url, drop = f'sqlite:///{path}', None
    else:
        if not PG_URL:
            pytest.skip('PostgreSQL not available (set SMP_TEST_POSTGRES_URL)')
        template = request.getfixturevalue('postgres_template')
        name = f'smp_search_{uuid.uuid4().hex[:12]}'
        admin = sa.create_engine(PG_URL, isolation_level='AUTOCOMMIT')
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE {name} TEMPLATE {template}'))
        url, drop = _pg_url(name), name
    engine = sa.create_engine(url)
    ids = {}
    with Session(engine) as session:
        for key, (first, last, born, external) in CHARTS.items():
            chart = Chart(first_name=first, last_name=last, date_of_birth=born, external_id=external)
            session.add(chart)
            session.flush()
            ids[key] = chart.id
        session.commit()
    yield engine, ids
    engine.dispose()
    if drop:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS {drop} WITH (FORCE)'))
        admin.dispose()


@pytest.mark.parametrize(('query', 'expected'), CASES, ids=[q for q, _ in CASES])
def test_chart_search_finds_what_staff_type(searched, query: str, expected: set[str]) -> None:
    engine, ids = searched
    with Session(engine) as session:
        rows, total = charts.search_charts(session, actor=STAFF, query=query)
    assert {r.id for r in rows} == {ids[k] for k in expected} and total == len(expected)
