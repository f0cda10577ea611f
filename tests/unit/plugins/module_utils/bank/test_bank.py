"""Checkpoint bank: layout, status lifecycle, listing filters, deletion, over the local and Swift stores."""
import json
import os
import stat

import pytest
from openstack import exceptions as sdk_exceptions

from ansible_collections.dataprotection.openstack.plugins.module_utils.bank import open_bank
from ansible_collections.dataprotection.openstack.plugins.module_utils.bank.base import CheckpointBank
from ansible_collections.dataprotection.openstack.plugins.module_utils.bank.swift import SwiftStore
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError


class FakeObjectStore:
    def __init__(self):
        self.containers = {}

    def create_container(self, name):
        self.containers.setdefault(name, {})

    def upload_object(self, container, name, data):
        self.containers[container][name] = data

    def download_object(self, name, container):
        try:
            return self.containers[container][name]
        except KeyError:
            raise sdk_exceptions.NotFoundException('404')

    def objects(self, container, prefix=''):
        if container not in self.containers:
            raise sdk_exceptions.NotFoundException('404')
        return [type('O', (), {'name': n}) for n in self.containers[container] if n.startswith(prefix)]

    def delete_object(self, name, container, ignore_missing=True):
        self.containers.get(container, {}).pop(name, None)


class FakeConn:
    def __init__(self):
        self.object_store = FakeObjectStore()


@pytest.fixture(params=['local', 'swift'])
def bank(request, tmp_path):
    if request.param == 'local':
        return open_bank({'type': 'local', 'path': str(tmp_path / 'bank')})
    conn = FakeConn()
    return open_bank({'type': 'swift', 'container': 'cp'}, conn_factory=lambda: conn)


def test_lifecycle_and_layout(bank):
    assert bank.list() == []
    index = bank.create('k8s_pod', dict(name='nightly'), dict(key='ns/app', name='app'))
    assert index['status'] == 'protecting'
    assert bank.get(index['id'])['status'] == 'protecting'
    bank.put_resource(index, 'pod', 'ns/app', {'kind': 'Pod'})
    bank.put_resource(index, 'pod', 'ns/app', {'kind': 'Pod', 'v': 2})
    bank.update(index, status='available')
    stored = bank.get(index['id'])
    assert stored['status'] == 'available' and stored['resources'] == [{'type': 'pod', 'name': 'ns/app'}]
    assert bank.resources(stored) == {'pod': {'ns/app': {'kind': 'Pod', 'v': 2}}}
    keys = bank.store.list('checkpoints/')
    assert keys == sorted(['checkpoints/%s/index.json' % index['id'],
                           'checkpoints/%s/resources/pod/ns%%2Fapp.json' % index['id']])
    with pytest.raises(ValueError):
        bank.update(index, status='bogus')


def test_list_filters_and_delete(bank):
    a = bank.create('k8s_pod', dict(name='n1'), dict(key='ns/a'))
    b = bank.create('k8s_pod', dict(name='n2'), dict(key='ns/a'))
    c = bank.create('other', dict(name='n1'), dict(key='ns/b'))
    bank.update(b, status='available')
    assert [i['id'] for i in bank.list(plugin='k8s_pod')] == [a['id'], b['id']]
    assert [i['id'] for i in bank.list(protection='n1')] == [a['id'], c['id']]
    assert [i['id'] for i in bank.list(resource_key='ns/a', status='available')] == [b['id']]
    bank.put_resource(a, 'volume', 'v1', {})
    bank.delete(a)
    assert bank.get(a['id']) is None
    assert not [k for k in bank.store.list('checkpoints/') if a['id'] in k]
    assert len(bank.list()) == 2


def test_local_store_is_private_and_atomic(tmp_path):
    bank = open_bank({'path': str(tmp_path / 'b')})
    index = bank.create('p', {}, {})
    directory = os.path.join(str(tmp_path / 'b'), 'checkpoints', index['id'])
    assert stat.S_IMODE(os.stat(str(tmp_path / 'b')).st_mode) == 0o700
    assert not [n for n in os.listdir(directory) if n.startswith('.tmp-')]
    with open(os.path.join(directory, 'index.json')) as handle:
        assert json.load(handle)['id'] == index['id']
    bank.delete(index)
    assert not os.path.exists(directory)
    with pytest.raises(ProtectionError):
        bank.store.put('../escape', b'x')


def test_corrupt_index_is_a_clear_error(tmp_path):
    bank = open_bank({'path': str(tmp_path)})
    bank.store.put('checkpoints/x/index.json', b'{not json')
    with pytest.raises(ProtectionError, match='not valid JSON'):
        bank.list()


def test_swift_errors_name_the_container():
    class Broken(FakeObjectStore):
        def upload_object(self, container, name, data):
            raise sdk_exceptions.HttpException('quota', http_status=413)
    conn = FakeConn()
    conn.object_store = Broken()
    bank = CheckpointBank(SwiftStore(conn, 'cp'))
    with pytest.raises(ProtectionError, match='swift container cp'):
        bank.create('p', {}, {})
