"""`python main.py demo` loads a demo clinic once."""
from __future__ import annotations

from sqlmodel import select

from models import Account, Chart, Document, Reply, Share
from services import auth, db, demo, files


def test_demo_loads_once_and_prints_a_working_password(database) -> None:
    text = demo.load_demo()
    password = text.split('Password (both): ')[1].splitlines()[0]
    assert auth.sign_in(username=demo.STAFF_EMAIL, password=password, ip_address=None) is not None
    again = demo.load_demo()
    assert 'already loaded' in again
    with db.transaction() as session:
        assert len(session.exec(select(Chart)).all()) == 3
        assert len(session.exec(select(Share)).all()) == 5
        assert len(session.exec(select(Reply)).all()) == 1
        assert session.exec(select(Document).where(Document.file_id.is_not(None))).first() is not None
        assert len(session.exec(select(Account).where(Account.role == 'staff')).all()) == 1


def test_demo_pdf_is_a_pdf() -> None:
    assert files.detect_type(demo.demo_pdf('Hello (world)')) == 'application/pdf'


def test_demo_refuses_clearly_when_its_contacts_exist(database) -> None:
    from tests import factories
    with db.transaction() as session:
        factories.contact(session, email=demo.CONTACT_EMAIL)
    assert demo.load_demo().startswith('The demo clinic was not loaded (nothing was changed): ')
    with db.transaction() as session:
        assert session.exec(select(Chart)).all() == []
