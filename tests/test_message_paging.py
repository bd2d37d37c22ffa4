"""The contact's lists page by key (next, previous, last) and search through the text index, on SQLite and
PostgreSQL, with the same rows as skipping rows and a plain substring test."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import Account, Share
from services import auth, db, messages
from tests import portal_data

SIZE = 25


def _actor(account_id: int):
    with db.transaction() as session:
        return auth.account_actor(session, session.get(Account, account_id))


def _list(actor, **kwargs) -> messages.MessagePage:
    return db.run(messages.list_messages, actor=actor, **kwargs)


def _all(actor, **kwargs) -> list[messages.MessageRow]:
    """Every row of a list, page by page (by key)."""
    rows, page = [], _list(actor, limit=100, **kwargs)
    while page.rows:
        rows += page.rows
        page = _list(actor, limit=100, after=page.last, **kwargs)
    return rows


def _ids(page: messages.MessagePage) -> list[int]:
    return [r.share_id for r in page.rows]


@pytest.fixture
def casey(database):
    """A contact with 130 shares (ties in every column but the title), and a neighbour with its own 5."""
    casey = db.run(portal_data.person, email='casey@outside.test')
    robin = db.run(portal_data.person, email='robin@outside.test')
    db.run(portal_data.bulk_shares, contact_id=casey.contact_id, count=130)
    db.run(portal_data.bulk_shares, contact_id=robin.contact_id, count=5, prefix='Robin')
    return _actor(casey.account_id)


def test_next_previous_and_last_by_key_give_the_pages_of_offset_paging(casey) -> None:
    for sort, descending in [(None, True), ('regarding', False), ('by', True), ('type', False)]:
        _walk(casey, sort, descending)
    _last_page(casey)


def _walk(casey, sort, descending) -> None:
    by_offset = [_ids(_list(casey, offset=o, limit=SIZE, sort=sort, descending=descending)) for o in range(0, 130, SIZE)]
    pages, page = [], _list(casey, limit=SIZE, sort=sort, descending=descending)
    while page.rows:
        pages.append(page)
        page = _list(casey, after=page.last, limit=SIZE, sort=sort, descending=descending)
    assert [_ids(p) for p in pages] == by_offset and len(by_offset[-1]) == 130 % SIZE
    for n in range(len(pages) - 1, 0, -1):  # and back again
        previous = _list(casey, before=pages[n].first, limit=SIZE, sort=sort, descending=descending)
        assert _ids(previous) == by_offset[n - 1]
    assert all(p.total == 130 and not p.estimated for p in pages)


def _last_page(casey) -> None:
    last = _list(casey, last=True, limit=SIZE)
    everything = _ids(_list(casey, limit=100)) + _ids(_list(casey, offset=100, limit=100))
    assert _ids(last) == everything[-SIZE:] and last.rows[-1].title == 'Bulk 00001'
    assert _ids(_list(casey, before=last.first, limit=SIZE)) == everything[-2 * SIZE:-SIZE]


def test_search_through_the_index_finds_what_a_substring_test_finds_and_follows_changes(casey) -> None:
    def expected(term: str) -> set[str]:
        with db.transaction() as session:
            shares = session.exec(sa.select(Share.title, Share.regarding, Share.by_name, Share.doc_type)
                                  .where(Share.contact_id.in_(casey.contact_ids))).all()
        return {s.title for s in shares if any(term.lower() in value.lower() for value in s)}

    with db.transaction() as session:  # letters beyond ASCII, in either case (SQLite's own lower() and LIKE fold ASCII only)
        session.execute(sa.update(Share).where(Share.title == 'Bulk 00003').values(by_name='Dr. Åsa ÖLUND'))
    for term in ('bulk 0012', 'PATIENT 00', 'atient 01', 'dr. author 3', 'lk', '7', 'Robin', '"bulk', "o'", '%', '_',
                 'åsa ölund', 'ÅSA Ö', 'a ölu'):
        assert {r.title for r in _all(casey, search=term)} == expected(term), term
        assert _list(casey, search=term).total == len(expected(term)), term
    assert _list(casey, search='00001 patient').total == 0  # never across two columns
    found = _list(casey, search='patient 01', limit=SIZE)
    following = _list(casey, search='patient 01', after=found.last, limit=SIZE)
    assert set(_ids(found)).isdisjoint(_ids(following)) and len(_ids(found) + _ids(following)) == found.total
    # the index follows changed and removed shares
    first = _list(casey, search='bulk 00007').rows[0]
    with db.transaction() as session:
        session.execute(sa.update(Share).where(Share.id == first.share_id).values(title='Renamed letter'))
    assert _list(casey, search='bulk 00007').total == 0
    assert _ids(_list(casey, search='renamed lett')) == [first.share_id]
    with db.transaction() as session:
        session.execute(sa.delete(Share).where(Share.id == first.share_id))
    assert _list(casey, search='renamed lett').total == 0


def test_a_search_pages_sorts_and_counts_its_matches_like_the_whole_list_does(casey, monkeypatch) -> None:
    """A search reads its matches once and pages them itself; with more matches than the count's cap it pages
    through the list's index instead. Both give the same pages, forward, back, sorted and last."""
    term = 'patient 0'  # 'Patient 000' to 'Patient 099': every one of the 130, ties in every sort column but one

    def walk(sort, descending) -> tuple[list[list[int]], int]:
        pages, page = [], _list(casey, search=term, limit=SIZE, sort=sort, descending=descending)
        while page.rows:
            pages.append(_ids(page))
            page = _list(casey, search=term, after=page.last, limit=SIZE, sort=sort, descending=descending)
        back = _list(casey, search=term, last=True, limit=SIZE, sort=sort, descending=descending)
        backwards = [_ids(back)]
        while (back := _list(casey, search=term, before=back.first, limit=SIZE, sort=sort,
                             descending=descending)).rows:
            backwards.insert(0, _ids(back))
        assert backwards[-1] == sum(pages, [])[-SIZE:] and sum(backwards, []) == sum(pages, [])
        offsets = [_ids(_list(casey, search=term, offset=o, limit=SIZE, sort=sort, descending=descending))
                   for o in range(0, 130, SIZE)]
        assert offsets == pages
        return pages, _list(casey, search=term, sort=sort, descending=descending).total

    sorts = [(None, True), ('regarding', False), ('by', True), ('type', False), ('message', True)]
    read_once = {sort: walk(*sort) for sort in sorts}
    assert all(total == 130 for _pages, total in read_once.values())
    monkeypatch.setattr(messages, 'COUNT_EXACT_UP_TO', 100)  # more matches than the cap: the list's own index
    for sort in sorts:
        pages, total = walk(*sort)
        assert pages == read_once[sort][0] and total == 101
    assert _list(casey, search='patient 0', after=(None, 0), limit=SIZE).rows == []  # beyond the end
    assert _list(casey, search='no such words').total == 0


def test_a_large_count_is_capped_and_the_main_screen_reads_both_lists_at_once(
        casey, database, monkeypatch) -> None:
    screen = db.run(messages.main_screen, actor=casey, messages=messages.PageRequest(limit=10))
    assert len(screen.messages.rows) == 10 and screen.messages.total == 130 and screen.replies is None
    monkeypatch.setattr(messages, 'COUNT_EXACT_UP_TO', 40)
    page = _list(casey, limit=SIZE)
    assert page.estimated and page.total == 41  # "more than 40", counted no further
    assert len(page.rows) == SIZE
    assert _list(casey, search='bulk 0012').total == 10  # small counts stay exact
    for where in ({}, {'last': True}, {'offset': 50}, {'offset': 500}, {'after': page.last}):  # every kind of page
        found = _list(casey, search='bulk', limit=SIZE, **where)
        assert found.total == 41 and found.estimated, where
    assert _list(casey, search='bulk 001', last=True, limit=SIZE).total == 31  # Bulk 00100 to 00130: exact


def test_the_lists_name_a_capped_count_as_such() -> None:
    from pages.contact import home
    assert f'total > {messages.COUNT_EXACT_UP_TO} ?' in home.TABLE_PROPS


def test_the_first_page_from_prepared_statements_is_the_first_page_of_the_general_query(casey, monkeypatch) -> None:
    from datetime import timedelta

    from services import clock
    with db.transaction() as session:  # some withdrawn, expired, expiring later and replied to, among the 130
        ids = sorted(session.exec(sa.select(Share.id).where(Share.contact_id.in_(casey.contact_ids))).scalars())
        now = clock.now()
        session.execute(sa.update(Share).where(Share.id.in_(ids[0:120:7])).values(rescinded_at=now))
        session.execute(sa.update(Share).where(Share.id.in_(ids[3:120:11])).values(expires_at=now - timedelta(days=1)))
        session.execute(sa.update(Share).where(Share.id.in_(ids[5:120:13])).values(expires_at=now + timedelta(days=1)))
        session.execute(sa.update(Share).where(Share.id.in_(ids[1:130:4])).values(last_reply_at=now, reply_count=1))
    prepared = {which: _list(casey, which=which, limit=SIZE) for which in ('messages', 'replies')}
    assert db.run(messages.has_replies, actor=casey)
    monkeypatch.setattr(messages, '_is_first_page', lambda *args: False)  # the general query for the same request
    for which, page in prepared.items():
        general = _list(casey, which=which, limit=SIZE)
        assert page == general and len(page.rows) == SIZE and page.total == general.total
    assert prepared['messages'].total + prepared['replies'].total < 130  # the withdrawn and expired are not shown


def test_a_first_page_that_is_not_full_is_its_own_count(database) -> None:
    few = db.run(portal_data.person, email='few@outside.test')
    db.run(portal_data.bulk_shares, contact_id=few.contact_id, count=3)
    page = _list(_actor(few.account_id), limit=SIZE)
    assert len(page.rows) == 3 and page.total == 3 and not page.estimated
    assert _list(_actor(few.account_id), limit=2).total == 3  # a full page still counts the rest


def test_the_prepared_reads_see_what_their_transaction_changed_and_has_not_flushed(database) -> None:
    from services import clock
    few = db.run(portal_data.person, email='pending@outside.test')
    db.run(portal_data.bulk_shares, contact_id=few.contact_id, count=3)
    actor = _actor(few.account_id)
    with db.transaction() as session:
        share = session.exec(sa.select(Share).where(Share.contact_id == few.contact_id)).scalars().first()
        share.last_reply_at, share.reply_count = clock.now(), 1
        session.add(share)  # pending: db.rows flushes it before reading, as the ORM's own reads do
        assert messages.has_replies(session, actor=actor)
        first = messages.list_messages(session, actor=actor, limit=SIZE)
        assert first.total == 2 and share.id not in [r.share_id for r in first.rows]


def test_a_search_on_sqlite_tests_and_sorts_its_matches_from_one_index(casey, database) -> None:
    """The ids the FTS5 table gives are looked up in ix_share_contact_last_reply_at, which holds every column the
    list's conditions and its date order need: a match's row is read only when it is on the page."""
    if not database.startswith('sqlite'):
        pytest.skip('the FTS5 table is SQLite\'s; PostgreSQL searches through its pg_trgm index')
    statements = []

    def keep(_conn, _cursor, statement, parameters, _context, _many) -> None:
        statements.append((statement, parameters))

    sa.event.listen(db.engine(), 'before_cursor_execute', keep)
    try:
        page = _list(casey, search='patient 007')
    finally:
        sa.event.remove(db.engine(), 'before_cursor_execute', keep)
    assert page.total == 2 and {r.regarding for r in page.rows} == {'Patient 007'}
    statement, parameters = next(s for s in statements if 'share_search MATCH' in s[0])
    with db.engine().connect() as conn:
        plan = [row[-1] for row in conn.exec_driver_sql('EXPLAIN QUERY PLAN ' + statement, parameters)]
    assert 'SEARCH share USING COVERING INDEX ix_share_contact_last_reply_at' in ' '.join(plan), plan
    assert sum('share USING INTEGER PRIMARY KEY' in step for step in plan) == 1, plan  # the page's rows only
