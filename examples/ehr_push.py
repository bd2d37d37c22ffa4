"""Push a document from the clinic's EHR into the Secure Message Portal, and pull replies back. Copy and adapt.

    pip install httpx
    export SMP_URL=https://portal.clinic.example SMP_API_SECRET=smp_...   # admin page "API and webhooks"

    python ehr_push.py send --mrn 0042 --first Pat --last Lee --dob 1980-05-17 \
        --pdf work-status.pdf --title "Work status" --type "Work Status Report" --service-date 2026-11-02 \
        --to casey@insurer.example --to-first Casey --to-last Adjuster
    python ehr_push.py poll --state poll-state.json --out replies/

`send` is safe to repeat: the share carries an Idempotency-Key made from the document and recipient, so a retry
after a timeout sends nothing twice. `poll` keeps its cursor in the state file, downloads each new reply's
attachments (checking their SHA-256), files them (here: a folder) and moves the reply into the portal chart.
Errors are RFC 9457 problem+json; a 429 answer says how long to wait in Retry-After.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import httpx


def client() -> httpx.Client:
    return httpx.Client(base_url=os.environ['SMP_URL'].rstrip('/'), timeout=60,
                        headers={'authorization': f'Bearer {os.environ["SMP_API_SECRET"]}'})


def call(api: httpx.Client, method: str, path: str, **kwargs) -> httpx.Response:
    """One request; waits out a rate limit, raises with the problem's detail on any other error."""
    for _ in range(5):
        answer = api.request(method, path, **kwargs)
        if answer.status_code == 429:
            time.sleep(int(answer.headers.get('retry-after', '5')))
            continue
        if answer.status_code >= 400:
            problem = answer.json() if answer.headers.get('content-type', '').endswith('json') else {}
            raise SystemExit(f'{method} {path}: {answer.status_code} {problem.get("title", "")}: '
                             f'{problem.get("detail", answer.text[:200])} {problem.get("errors", "")}')
        return answer
    raise SystemExit(f'{method} {path}: still rate limited')


def send(args: argparse.Namespace) -> None:
    with client() as api:
        chart = call(api, 'POST', '/api/v1/charts/upsert', json={
            'external_id': args.mrn, 'first_name': args.first, 'last_name': args.last,
            'date_of_birth': args.dob}).json()['chart']
        pdf = Path(args.pdf).read_bytes()
        document = call(api, 'POST', '/api/v1/documents/upload', files={'file': (Path(args.pdf).name, pdf)}, data={
            'chart_id': chart['id'], 'service_date': args.service_date, 'doc_type': args.type, 'title': args.title,
            'author': args.author}).json()
        contact = call(api, 'POST', '/api/v1/contacts/upsert', json={
            'email': args.to, 'first_name': args.to_first, 'last_name': args.to_last}).json()['contact']
        key = hashlib.sha256(f'{args.mrn}:{hashlib.sha256(pdf).hexdigest()}:{args.to}'.encode()).hexdigest()[:40]
        shares = call(api, 'POST', '/api/v1/shares', headers={'idempotency-key': key}, json={
            'document_ids': [document['id']], 'contact_ids': [contact['id']], 'replies_allowed': True,
            'expires_on': args.expires_on, 'acknowledgement_required': args.acknowledge}).json()['shares']
        for share in shares:
            print(f'share {share["id"]}: chart {chart["id"]}, document {document["id"]}, contact {contact["id"]}, '
                  f'email: {share["email_kind"]}')


def poll(args: argparse.Namespace) -> None:
    state_file, out = Path(args.state), Path(args.out)
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    out.mkdir(parents=True, exist_ok=True)
    with client() as api:
        while True:
            page = call(api, 'GET', '/api/v1/replies', params={'cursor': state.get('cursor') or None}).json()
            for summary in page['items']:
                reply = call(api, 'GET', f'/api/v1/replies/{summary["id"]}').json()
                folder = out / f'reply-{reply["id"]}'
                folder.mkdir(exist_ok=True)
                (folder / 'reply.txt').write_text(reply['body'])
                for attachment in reply['attachments']:
                    data = call(api, 'GET', attachment['url']).content
                    if hashlib.sha256(data).hexdigest() != attachment['sha256']:
                        raise SystemExit(f'attachment {attachment["id"]}: damaged download')
                    (folder / f'{attachment["id"]}-{Path(attachment["file_name"]).name}').write_bytes(data)
                if reply['status'] == 'unworked':
                    call(api, 'POST', f'/api/v1/replies/{reply["id"]}/move')
                print(f'reply {reply["id"]} (chart {reply["chart_id"]}) filed in {folder}')
            state['cursor'] = page['next_cursor']
            state_file.write_text(json.dumps(state))  # only after the page was filed: a crash repeats, never skips
            if not page['has_more']:
                return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest='command', required=True)
    push = commands.add_parser('send', help='upsert chart and contact, upload a PDF, share it')
    for name in ('--mrn', '--first', '--last', '--pdf', '--title', '--type', '--service-date', '--to',
                 '--to-first', '--to-last'):
        push.add_argument(name, required=True)
    push.add_argument('--dob', default=None)
    push.add_argument('--author', default='')
    push.add_argument('--expires-on', default=None)
    push.add_argument('--acknowledge', action='store_true')
    pull = commands.add_parser('poll', help='file new replies and their attachments')
    pull.add_argument('--state', default='poll-state.json')
    pull.add_argument('--out', default='replies')
    args = parser.parse_args()
    send(args) if args.command == 'send' else poll(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
