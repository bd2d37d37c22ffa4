"""Property: 10,000 generated codes never collide, and no code (however it is typed) redeems for another contact."""
from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import ActivationCode, Contact
from services import activation, clock, db
from services.errors import PortalError

N_CODES, N_CONTACTS = 10_000, 100
_ip = itertools.count(1)


@pytest.fixture
def ten_thousand_codes(database: str) -> list[tuple[str, int]]:
    """10,000 codes from the real generator, 100 per contact, stored as issue_code stores them."""
    codes = [activation.generate_code() for _ in range(N_CODES)]
    assert len(set(codes)) == N_CODES
    assert len({activation.code_hash(c) for c in codes}) == N_CODES
    now = clock.now()
    with db.transaction() as session:
        contact_ids = []
        for n in range(N_CONTACTS):
            contact = Contact(first_name='Casey', last_name=f'Contact{n}', email=f'c{n}@outside.test')
            session.add(contact)
            session.flush()
            contact_ids.append(contact.id)
        owners = [contact_ids[i % N_CONTACTS] for i in range(N_CODES)]
        session.execute(sa.insert(ActivationCode), [
            {'contact_id': owner, 'code_hash': activation.code_hash(code), 'created_at': now,
             'expires_at': now + timedelta(days=30)} for code, owner in zip(codes, owners)])
    return list(zip(codes, owners))


def test_generated_codes_have_the_promised_shape() -> None:
    code = activation.generate_code()
    groups = code.split('-')
    assert [len(g) for g in groups] == [4, 4, 4, 4]
    assert set(code.replace('-', '')) <= set(activation.ALPHABET)
    assert not set('0O1IL5S2Z') & set(activation.ALPHABET)


def _typed(code: str, data: st.DataObject) -> str:
    """The code as a person might type or paste it: any case, dashes or spaces anywhere, spaces around."""
    out = []
    for ch in code.replace('-', ''):
        out.append(ch.lower() if data.draw(st.booleans()) else ch)
        out.append(data.draw(st.sampled_from(['', '', '-', ' '])))
    return data.draw(st.sampled_from(['', ' '])) + ''.join(out) + data.draw(st.sampled_from(['', ' \n']))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_code_redeems_for_another_contact(ten_thousand_codes: list[tuple[str, int]], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, N_CODES - 1))
    code, owner = ten_thousand_codes[index]
    n = next(_ip)
    ip = f'10.9.{n // 250}.{n % 250}'
    assert activation.check_code(code=_typed(code, data), ip_address=ip).contact_id == owner
    # one symbol changed: it belongs to nobody (or, by a 1 in 10^22 chance, to someone: then never silently)
    position = data.draw(st.integers(0, 15))
    raw = activation.normalize_code(code)
    other = data.draw(st.sampled_from([c for c in activation.ALPHABET if c != raw[position]]))
    mutated = raw[:position] + other + raw[position + 1:]
    known = {activation.normalize_code(c): o for c, o in ten_thousand_codes}
    try:
        result = activation.check_code(code=mutated, ip_address=ip)
    except PortalError:
        assert mutated not in known
    else:
        assert result.contact_id == known[mutated]
