"""PATCH bodies: JSON merge patch (RFC 7386), a minimal strategic merge patch, and JSON patch (RFC 6902)."""

import copy

from . import errors

# Strategic merge patch: lists merged by key instead of replaced (patchMergeKey in the Go types). Keyed by field name,
# which is exact for the emulated kinds. None = list of scalars with patchStrategy "merge" (union, as for finalizers).
MERGE_KEYS = {
    'containers': 'name', 'initContainers': 'name', 'ephemeralContainers': 'name', 'volumes': 'name', 'imagePullSecrets': 'name',
    'env': 'name', 'ports': 'containerPort', 'volumeMounts': 'mountPath', 'volumeDevices': 'devicePath', 'conditions': 'type',
    'ownerReferences': 'uid', 'hostAliases': 'ip', 'finalizers': None,
}


def merge_patch(target, patch):
    """RFC 7386: objects merge recursively, ``null`` deletes, anything else (lists included) replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target, patch):
    """Strategic merge patch, minimal: merge-key lists, ``$patch: delete|replace``, ``$deleteFromPrimitiveList``.

    Real: scalar lists with patchStrategy merge (``metadata.finalizers``) are UNIONED, so ``{"metadata": {"finalizers": []}}``
    removes nothing; use ``null`` or a merge patch to clear them. ``$setElementOrder``/``$retainKeys`` directives are ignored.
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get('$patch') == 'replace':
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != '$patch'}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith('$setElementOrder/') or key in ('$retainKeys', '$patch'):
            continue
        if key.startswith('$deleteFromPrimitiveList/'):
            field = key.split('/', 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and key in MERGE_KEYS and isinstance(result.get(key), list):
            result[key] = _merge_list(result[key], value, MERGE_KEYS[key])
        elif isinstance(value, dict):
            result[key] = strategic_merge_patch(result.get(key), value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _merge_list(original, patch, merge_key):
    if merge_key is None:
        merged = list(original)
        for value in patch:
            if value not in merged:
                merged.append(value)
        return merged
    merged = copy.deepcopy(original)
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            raise errors.bad_request(f'map: {item} does not contain declared merge key: {merge_key}')
        index = next((i for i, old in enumerate(merged) if isinstance(old, dict) and old.get(merge_key) == item[merge_key]), None)
        if item.get('$patch') == 'delete':
            if index is not None:
                merged.pop(index)
        elif index is None:
            merged.append({k: copy.deepcopy(v) for k, v in item.items() if k != '$patch'})
        else:
            merged[index] = strategic_merge_patch(merged[index], item)
    return merged


def _pointer(path):
    if path == '':
        return []
    if not path.startswith('/'):
        raise errors.bad_request(f'the server rejected our request due to an error in our request: invalid JSON pointer {path!r}')
    return [p.replace('~1', '/').replace('~0', '~') for p in path[1:].split('/')]


def _walk(doc, parts, path):
    for part in parts:
        if isinstance(doc, list):
            try:
                doc = doc[int(part)]
            except (ValueError, IndexError):
                raise errors.ApiError(422, 'Invalid', f'the server rejected our request: path {path!r} does not exist') from None
        elif isinstance(doc, dict) and part in doc:
            doc = doc[part]
        else:
            # Real (evanphx/json-patch): "doc is missing path" -> 422.
            raise errors.ApiError(422, 'Invalid', f'the server rejected our request due to an error in our request: doc is missing path: {path!r}')
    return doc


def json_patch(target, operations):
    """RFC 6902 operations add, remove, replace, move, copy, test."""
    if not isinstance(operations, list):
        raise errors.bad_request('json patch must be a list of operations')
    doc = copy.deepcopy(target)
    for op in operations:
        kind, path = op.get('op'), op.get('path', '')
        parts = _pointer(path)
        if kind == 'test':
            if _walk(doc, parts, path) != op.get('value'):
                raise errors.ApiError(422, 'Invalid', f'the server rejected our request due to an error in our request: testing value {path} failed')
            continue
        if kind in ('move', 'copy'):
            source = _pointer(op.get('from', ''))
            value = copy.deepcopy(_walk(doc, source, op.get('from')))
            if kind == 'move':
                _remove(doc, source, op.get('from'))
            _add(doc, parts, path, value)
        elif kind == 'add':
            _add(doc, parts, path, copy.deepcopy(op.get('value')))
        elif kind == 'remove':
            _remove(doc, parts, path)
        elif kind == 'replace':
            _walk(doc, parts, path)
            _remove(doc, parts, path)
            _add(doc, parts, path, copy.deepcopy(op.get('value')))
        else:
            raise errors.bad_request(f'Unexpected kind: {kind}')
        if not parts:
            doc = copy.deepcopy(op.get('value'))
    return doc


def _add(doc, parts, path, value):
    if not parts:
        return
    parent = _walk(doc, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, list):
        index = len(parent) if last == '-' else int(last)
        if index > len(parent):
            raise errors.ApiError(422, 'Invalid', f'the server rejected our request: add operation index out of bounds: {path!r}')
        parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise errors.ApiError(422, 'Invalid', f'the server rejected our request: doc is missing path: {path!r}')


def _remove(doc, parts, path):
    if not parts:
        return
    parent = _walk(doc, parts[:-1], path)
    last = parts[-1]
    try:
        if isinstance(parent, list):
            parent.pop(int(last))
        else:
            del parent[last]
    except (KeyError, ValueError, IndexError, TypeError):
        raise errors.ApiError(422, 'Invalid', f'the server rejected our request due to an error in our request: doc is missing path: {path!r}') from None


def apply(target, body, content_type):
    """Apply a PATCH body according to its Content-Type; unknown types -> 415."""
    media = (content_type or '').split(';')[0].strip().lower()
    if media == 'application/merge-patch+json':
        return merge_patch(target, body)
    if media == 'application/strategic-merge-patch+json':
        return strategic_merge_patch(target, body)
    if media == 'application/json-patch+json':
        return json_patch(target, body)
    if media == 'application/apply-patch+yaml':
        # Server-side apply, approximated by the strategic merge (associative lists such as containers/volumes merge by key,
        # as their listType=map does); field ownership is not tracked and the body must be JSON (which is valid YAML).
        return strategic_merge_patch(target, body)
    raise errors.unsupported_media(media)
