# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Selecting the resources of a bulk task: by names/ids, by metadata, or by a JMESPath query."""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ConflictError, NotFoundError, ProtectionError

try:
    import jmespath
    HAS_JMESPATH = True
except ImportError:
    HAS_JMESPATH = False


def select_resources(resources, view, names=None, metadata=None, query=None, kind='resource'):
    """The resources named, matching ``metadata``, or returned by ``query`` (over ``view(resource)`` dicts)."""
    if names is not None:
        return _by_names(resources, names, kind)
    if metadata is not None:
        wanted = dict((str(k), str(v)) for k, v in metadata.items())
        return [r for r in resources if all((r.metadata or {}).get(k) == v for k, v in wanted.items())]
    return by_query(query, [view(r) for r in resources], resources, kind=kind)


def by_query(query, views, resources=None, kind='resource'):
    """The resources (default: the views themselves) whose view dicts the JMESPath ``query`` returns.

    ``views[i]`` is the dict of ``resources[i]`` and carries its ``id``; the query must return such dicts.
    """
    if not HAS_JMESPATH:
        raise ProtectionError('query needs the jmespath Python library on the controller')
    resources = views if resources is None else resources
    by_id = dict((item['id'], resource) for item, resource in zip(views, resources))
    try:
        found = jmespath.search(query, views)
    except jmespath.exceptions.JMESPathError as exc:
        raise ProtectionError('query %r is not a valid JMESPath expression: %s' % (query, exc))
    if found is None:
        return []
    if not isinstance(found, list) or not all(isinstance(item, dict) and item.get('id') in by_id for item in found):
        raise ProtectionError('query %r must return a list of %ss (dicts with their id), got %r'
                              % (query, kind, found if not isinstance(found, list) else found[:3]))
    return [by_id[item['id']] for item in found]


def _by_names(resources, names, kind):
    selected, missing = [], []
    for ref in names:
        matches = [r for r in resources if r.id == ref] or [r for r in resources if r.name == ref]
        if not matches:
            missing.append(ref)
        elif len(matches) > 1:
            raise ConflictError('%s %s: %d %ss have this name (%s); pass the id instead'
                                % (kind, ref, len(matches), kind, ', '.join(sorted(r.id for r in matches))))
        elif matches[0] not in selected:
            selected.append(matches[0])
    if missing:
        raise NotFoundError('%s not found: %s' % (kind, ', '.join(missing)))
    return selected
