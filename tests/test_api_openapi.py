"""The OpenAPI document of /api/v1 is a contract: every path and method, its scope, parameters, request body and
answers (with their schemas, references resolved) must match the snapshot next to this file.

After an intentional change, write the new snapshot with `SMP_UPDATE_API_SNAPSHOT=1` and review its diff.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import api

SNAPSHOT = Path(__file__).with_name('test_api_openapi_snapshot.json')


def _resolve(node: Any, schemas: dict[str, Any], *, names: bool = False) -> Any:
    """`node` with every $ref replaced by its schema and no titles (a model's class name is not the contract)."""
    if isinstance(node, list):
        return [_resolve(item, schemas) for item in node]
    if not isinstance(node, dict):
        return node
    if '$ref' in node and not names:
        return _resolve(schemas[node['$ref'].rsplit('/', 1)[1]], schemas)
    return {key: _resolve(value, schemas, names=key == 'properties' and not names)
            for key, value in node.items() if names or key != 'title'}


def contract() -> dict[str, Any]:
    """Each operation as `METHOD /path`: its scope and its resolved OpenAPI operation."""
    document = api.openapi_document()
    schemas = document.get('components', {}).get('schemas', {})
    scopes = api.v1.endpoint_scopes()
    found = {}
    for path, operations in document['paths'].items():
        for method, operation in operations.items():
            operation = dict(operation)
            operation['parameters'] = sorted(operation.get('parameters', []), key=lambda p: (p['in'], p['name']))
            found[f'{method.upper()} {path}'] = {'scope': scopes.get((method.upper(), path)),
                                                 'operation': _resolve(operation, schemas)}
    return {'info': document['info'], 'security': document.get('components', {}).get('securitySchemes'),
            'operations': dict(sorted(found.items()))}


def test_the_openapi_document_matches_the_snapshot() -> None:
    current = contract()
    if os.environ.get('SMP_UPDATE_API_SNAPSHOT') == '1':
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + '\n')
    expected = json.loads(SNAPSHOT.read_text())
    assert sorted(current['operations']) == sorted(expected['operations'])
    for name, operation in expected['operations'].items():
        assert current['operations'][name] == operation, name
    assert current == expected
