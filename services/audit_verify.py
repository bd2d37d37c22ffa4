"""Checking the audit log: the keyed chain, event by event, against every anchor written outside the database.

Finds, each with the first bad sequence number: events removed from the start, the middle or the end (the
end by the anchors), a wiped log, edited events, chains rewritten without the key (edited and recomputed,
renumbered), reordered or inserted events, anchors that no longer match, and an anchor file replaced by an
older copy, cut or edited. What it cannot find is in the README ("What the audit log proves").
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from models import AuditEvent

from . import audit, audit_anchor

MAX_LINK_LOOKUPS = 20  # finding where a misplaced event belongs scans the table: only for the first few


@dataclass(frozen=True)
class Problem:
    """One finding: the first bad sequence number it concerns (None when it has none), a kind and a sentence."""

    seq: int | None
    kind: str
    message: str


@dataclass(frozen=True)
class AnchorPoint:
    """An anchor to hold the chain against, and where it came from (for the report)."""

    seq: int
    hash: str
    written_at: datetime | None
    source: str


@dataclass
class Report:
    """What `check-audit` prints: counts, the head, the anchors, the problems and notes."""

    anchor_file: Path
    events: int = 0
    first_seq: int | None = None
    head: audit.ChainHead | None = None
    file_anchors: int = 0
    anchor_file_exists: bool = False
    recorded_anchors: int = 0
    newest_anchor: AnchorPoint | None = None
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_seq(self) -> int | None:
        """The lowest sequence number any problem concerns."""
        seqs = [p.seq for p in self.problems if p.seq is not None]
        return min(seqs) if seqs else None

    def sorted_problems(self) -> list[Problem]:
        return sorted(self.problems, key=lambda p: (p.seq is None, p.seq or 0))


def verify(session: Session, *, anchor_file: Path | None = None, expected: Iterable[tuple[int, str]] = (),
           batch: int = 1000) -> Report:
    """Check the whole log; read-only (never creates a key or writes an anchor)."""
    path = anchor_file or audit_anchor.anchor_path()
    report = Report(anchor_file=path)
    key = audit.existing_chain_key()
    points, file_macs, file_seqs = _anchors(session, key, path, report, expected)
    hashes_at = _walk(session, key, report, {p.seq for p in points}, batch)
    _check_anchors(report, points, hashes_at)
    _check_anchor_file(session, key, report, file_macs, file_seqs)
    _notes(report, points)
    return report


# ----------------------------------------------------------------------------- anchors

def _anchors(session: Session, key: bytes | None, path: Path, report: Report,
             expected: Iterable[tuple[int, str]]) -> tuple[list[AnchorPoint], set[str], list[int]]:
    points: list[AnchorPoint] = []
    file_macs: set[str] = set()
    file_seqs: list[int] = []
    lines = audit_anchor.read_anchor_file(path)
    report.anchor_file_exists = lines is not None
    for line in lines or []:
        anchor = line.anchor
        if anchor is None:
            report.problems.append(Problem(None, 'anchor_invalid', f'anchor file line {line.number} is not an anchor '
                                                                   '(the file was edited)'))
            continue
        if key is not None and not anchor.valid(key):
            report.problems.append(Problem(anchor.seq, 'anchor_forged', (
                f'anchor file line {line.number} (event {anchor.seq}) does not verify under the key: '
                'it was edited or forged')))
            continue
        report.file_anchors += 1
        file_macs.add(anchor.mac)
        file_seqs.append(anchor.seq)
        points.append(AnchorPoint(anchor.seq, anchor.hash, anchor.written_at, f'anchor file line {line.number}'))
    for row in audit_anchor.recorded_anchors(session):
        anchor = audit_anchor.Anchor(seq=row.seq, hash=row.hash, event_at=row.event_at, written_at=row.written_at,
                                     mac=row.mac, channel=row.channel)
        if key is not None and not anchor.valid(key):
            report.problems.append(Problem(row.seq, 'anchor_record_forged', (
                f'the anchor recorded in the database as #{row.id} (event {row.seq}) does not verify under the key: '
                'it was edited or forged')))
            continue
        report.recorded_anchors += 1
        where = 'emailed anchor' if row.channel == audit_anchor.EMAIL else 'anchor'
        points.append(AnchorPoint(row.seq, row.hash, row.written_at, f'{where} recorded in the database'))
    for seq, value in expected:
        points.append(AnchorPoint(seq, value, None, 'anchor given on the command line'))
    return points, file_macs, file_seqs


def _check_anchors(report: Report, points: list[AnchorPoint], hashes_at: dict[int, str]) -> None:
    head_seq = report.head.seq if report.head else 0
    beyond = [p for p in points if p.seq > head_seq]
    if beyond:
        last = max(beyond, key=lambda p: p.seq)
        if report.events == 0:
            report.problems.append(Problem(1, 'wiped', (
                f'the audit log is empty, but an anchor shows it had {last.seq} events: events 1–{last.seq} are '
                f'missing (the log was wiped); last anchor at {last.seq} ({_describe(last)})')))
        else:
            report.problems.append(Problem(head_seq + 1, 'truncated', (
                f'{_events(head_seq + 1, last.seq)} missing; last anchor at {last.seq} ({_describe(last)}): '
                f'the newest events were deleted')))
    matching = sorted({p.seq for p in points if hashes_at.get(p.seq) == p.hash})
    reported: set[int] = set()
    for point in sorted(points, key=lambda p: p.seq):
        stored = hashes_at.get(point.seq)
        if stored is None or stored == point.hash or point.seq in reported:
            continue
        reported.add(point.seq)
        good = max((s for s in matching if s < point.seq), default=0)
        # the chain itself may already show where the rewrite starts; else it started after the last good anchor
        pinned = [p.seq for p in report.problems if p.seq is not None and good < p.seq <= point.seq]
        report.problems.append(Problem(min(pinned, default=good + 1), 'anchor_mismatch', (
            f'event {point.seq} differs from its anchor ({_describe(point)}): the chain was rewritten '
            f'somewhere in events {good + 1}–{point.seq}')))


def _check_anchor_file(session: Session, key: bytes | None, report: Report, file_macs: set[str],
                       file_seqs: list[int]) -> None:
    """Every file anchor recorded in the database must still be in the anchor file."""
    recorded = [row for row in audit_anchor.recorded_anchors(session) if row.channel == audit_anchor.FILE]
    if key is not None:
        recorded = [row for row in recorded if audit.anchor_mac(
            key, channel=row.channel, seq=row.seq, hash=row.hash, event_at=row.event_at,
            written_at=row.written_at) == row.mac]
    missing = [row for row in recorded if row.mac not in file_macs]
    if not missing:
        return
    newest_in_file = max(file_seqs, default=0)
    newer = [row for row in missing if row.seq > newest_in_file]
    older = [row for row in missing if row.seq <= newest_in_file]
    if newer:
        top = max(newer, key=lambda r: r.seq)
        if not report.anchor_file_exists:
            what = f'the anchor file {report.anchor_file} is missing'
        else:
            what = (f'the anchor file {report.anchor_file} ends with an anchor at event {newest_in_file}'
                    if file_seqs else f'the anchor file {report.anchor_file} holds no anchor')
        report.problems.append(Problem(newest_in_file + 1, 'anchor_file_old', (
            f'{what}, but the database records {len(newer)} later anchor(s) written to it, the newest at event '
            f'{top.seq} ({_time(top.written_at)}): the file was replaced by an older copy, cut or deleted, and '
            f'{_span(newest_in_file + 1, top.seq)} no longer have an anchor outside the database')))
    if older:
        first = min(older, key=lambda r: r.seq)
        report.problems.append(Problem(first.seq, 'anchor_file_edited', (
            f'{len(older)} anchor(s) recorded in the database are missing from the middle of the anchor file, the '
            f'first at event {first.seq} ({_time(first.written_at)}): lines were removed from it')))


# ----------------------------------------------------------------------------- the chain

@dataclass
class _Run:
    """Consecutive events whose hash does not verify."""

    start: int
    end: int
    links_intact: bool = True


def _walk(session: Session, key: bytes | None, report: Report, wanted: set[int], batch: int) -> dict[int, str]:
    """Walk the events in sequence order; return the stored hash at each anchored sequence number."""
    hashes_at: dict[int, str] = {}
    expected, prev_hash, prev_seq = 1, '', 0
    run: _Run | None = None
    verified = 0
    lookups = [0]

    def close() -> None:
        nonlocal run
        if run is None:
            return
        if run.start == run.end:
            message = (f'event {run.start} does not verify under the key: it was changed after it was written, '
                       'or forged')
            report.problems.append(Problem(run.start, 'edited', message))
        elif run.links_intact:
            report.problems.append(Problem(run.start, 'recomputed', (
                f'events {run.start}–{run.end} do not verify under the key although they link to each other: the '
                f'chain was rewritten without the key (edited and recomputed, or renumbered) from event {run.start} on')))
        else:
            report.problems.append(Problem(run.start, 'edited', (
                f'events {run.start}–{run.end} do not verify under the key: they were changed after they were '
                'written, or forged')))
        run = None

    if key is None and session.exec(select(AuditEvent.id).limit(1)).first() is not None:
        report.problems.append(Problem(None, 'no_key', (
            f'the chain key ({audit.KEY_NAME} in the secrets folder) is missing, so no event can be verified: '
            'restore the secrets folder backed up with this database')))
    for event in _events_in_order(session, batch):
        seq = event['seq']
        report.events += 1
        if report.first_seq is None:
            report.first_seq = seq
        linked = True
        if seq != expected:
            close()
            if expected == 1:
                report.problems.append(Problem(1, 'missing', (
                    f'{_events(1, seq - 1)} missing: the log starts at event {seq}; the oldest events were deleted')))
            else:
                report.problems.append(Problem(expected, 'missing', (
                    f'{_events(expected, seq - 1)} missing (between event {prev_seq} and event {seq}): '
                    'events were deleted')))
        elif event['prev_hash'] != prev_hash:
            linked = False
            report.problems.append(_link_problem(session, seq, prev_seq, event['prev_hash'], lookups))
        good = key is not None and audit.content_hash(key, event) == event['hash']
        if key is not None and not good:
            if run is not None and run.end == seq - 1 and seq == expected:
                run.end = seq
                run.links_intact = run.links_intact and linked
            else:
                close()
                run = _Run(seq, seq)
        else:
            close()
            verified += good
        if seq in wanted:
            hashes_at[seq] = event['hash']
        prev_hash, prev_seq, expected = event['hash'], seq, seq + 1
        report.head = audit.ChainHead(seq, event['hash'], event['at'])
    close()
    if key is not None and report.events > 1 and verified == 0:
        report.notes.append(f'No event verifies under the current key (fingerprint {audit.key_fingerprint(key)}): if '
                            'the secrets folder was replaced or lost, restore the one backed up with this database.')
    loose = session.exec(select(AuditEvent.id).where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id)).all()
    if loose:
        shown = ', '.join(str(i) for i in loose[:10]) + (' …' if len(loose) > 10 else '')
        report.problems.append(Problem(None, 'unsequenced', (
            f'{len(loose)} row(s) without a sequence number (id {shown}): inserted outside the portal')))
    return hashes_at


def _link_problem(session: Session, seq: int, prev_seq: int, prev_hash: str, lookups: list[int]) -> Problem:
    follows = None
    if lookups[0] < MAX_LINK_LOOKUPS and prev_hash:
        lookups[0] += 1
        follows = session.exec(select(AuditEvent.seq).where(AuditEvent.hash == prev_hash).limit(1)).first()
    if follows is not None and follows != prev_seq:
        return Problem(seq, 'reordered', (
            f'event {seq} was written after the event now numbered {follows}, not after event {prev_seq}: '
            'events were reordered, or one was inserted before it'))
    return Problem(seq, 'relinked', (
        f'event {seq} does not link to event {prev_seq}: an event before it was replaced or inserted, '
        'or its link was changed'))


def _events_in_order(session: Session, batch: int) -> Iterator[Mapping[str, Any]]:
    """Every sequenced event as a column mapping, in sequence order (no ORM objects: memory stays flat)."""
    table = AuditEvent.__table__
    last = 0
    while True:
        rows = session.execute(sa.select(table).where(table.c.seq > last).order_by(table.c.seq).limit(batch)).all()
        if not rows:
            return
        for row in rows:
            yield row._mapping
        last = rows[-1].seq


# ----------------------------------------------------------------------------- notes and wording

def _notes(report: Report, points: list[AnchorPoint]) -> None:
    anchored = [p for p in points if p.written_at is not None]
    report.newest_anchor = max(anchored, key=lambda p: (p.seq, p.written_at), default=None)
    head_seq = report.head.seq if report.head else 0
    if report.events and report.newest_anchor is None:
        report.notes.append('No anchor has been written yet, so deleting the newest events cannot be detected '
                            'until one is (the portal writes them on its schedule; `main.py tick` writes one now).')
    elif report.newest_anchor is not None and report.newest_anchor.seq < head_seq:
        report.notes.append(f'{_events(report.newest_anchor.seq + 1, head_seq).capitalize()} not anchored yet (the '
                            f'newest anchor is at event {report.newest_anchor.seq}, '
                            f'{_time(report.newest_anchor.written_at)}); the next anchor covers them.')


def _events(first: int, last: int) -> str:
    """'event 7 is' / 'events 7–9 are'."""
    return f'event {first} is' if first == last else f'events {first}–{last} are'


def _span(first: int, last: int) -> str:
    """'event 7' / 'events 7–9'."""
    return f'event {first}' if first == last else f'events {first}–{last}'


def _describe(point: AnchorPoint) -> str:
    return f'{point.source}, written {_time(point.written_at)}' if point.written_at else point.source


def _time(value: datetime | None) -> str:
    return f'{value.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC' if value else 'at an unknown time'


def format_report(report: Report, *, limit: int = 100) -> str:
    """The text `main.py check-audit` prints."""
    lines = []
    if report.head is None:
        lines.append('audit log: no events')
    else:
        lines.append(f'audit log: {report.events:,} events (sequence {report.first_seq}–{report.head.seq}), head '
                     f'{report.head.hash[:16]}… at {_time(report.head.at)}')
    file_state = f'{report.file_anchors} anchor(s)' if report.anchor_file_exists else 'not present'
    lines.append(f'anchor file {report.anchor_file}: {file_state}; anchors recorded in the database: '
                 f'{report.recorded_anchors}')
    for note in report.notes:
        lines.append(f'note: {note}')
    problems = report.sorted_problems()
    for problem in problems[:limit]:
        where = f'audit event {problem.seq}' if problem.seq is not None else 'audit log'
        lines.append(f'{where}: {problem.message}')
    if len(problems) > limit:
        lines.append(f'… and {len(problems) - limit} more problem(s)')
    if report.ok:
        lines.append('audit log chain: OK')
    else:
        first = report.first_bad_seq
        lines.append(f'audit log chain: {len(problems)} problem(s)'
                     + (f'; first bad sequence number: {first}' if first is not None else ''))
    return '\n'.join(lines)
