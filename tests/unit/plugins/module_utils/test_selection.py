"""Bulk selection by names, metadata and JMESPath."""
import pytest

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import (
    ConflictError,
    NotFoundError,
    ProtectionError,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.selection import select_resources


class Res:
    def __init__(self, rid, name, metadata=None, size=1):
        self.id, self.name, self.metadata, self.size = rid, name, metadata or {}, size


def view(r):
    return {'id': r.id, 'name': r.name, 'metadata': r.metadata, 'size': r.size}


RES = [Res('1', 'a', {'backup': 'daily'}, 5), Res('2', 'b', {'backup': 'weekly'}, 20), Res('3', 'c', {}, 50)]


def test_by_names_and_ids():
    assert [r.id for r in select_resources(RES, view, names=['a', '3', 'a'])] == ['1', '3']


def test_unknown_name():
    with pytest.raises(NotFoundError) as info:
        select_resources(RES, view, names=['a', 'zz'])
    assert 'zz' in info.value.msg


def test_ambiguous_name():
    with pytest.raises(ConflictError):
        select_resources(RES + [Res('4', 'a')], view, names=['a'])


def test_by_metadata():
    assert [r.id for r in select_resources(RES, view, metadata={'backup': 'daily'})] == ['1']


def test_by_query():
    assert [r.id for r in select_resources(RES, view, query="[?metadata.backup=='weekly']")] == ['2']
    assert [r.id for r in select_resources(RES, view, query='[?size > `10`]')] == ['2', '3']


@pytest.mark.parametrize('query', ['[?', '[].name', 'length(@)'])
def test_bad_query(query):
    with pytest.raises(ProtectionError):
        select_resources(RES, view, query=query)
