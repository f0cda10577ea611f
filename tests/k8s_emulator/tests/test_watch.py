"""Watch streams consumed by kubernetes.watch.Watch and the DynamicClient."""

import threading
import time

import pytest
from kubernetes import watch
from kubernetes.client.rest import ApiException

from .helpers import pod, pvc


def _collect(stream, until, limit=50):
    events = []
    for event in stream:
        events.append((event['type'], event['object'].metadata.name))
        if until(events) or len(events) >= limit:
            break
    return events


def test_watch_stream_sees_added_modified_deleted(core):
    start_rv = core.list_namespaced_pod('default').metadata.resource_version

    def mutate():
        time.sleep(0.2)
        core.create_namespaced_pod('default', pod('w1', labels={'app': 'w'}))
        core.patch_namespaced_pod('w1', 'default', {'metadata': {'labels': {'extra': 'x'}}})
        core.delete_namespaced_pod('w1', 'default', grace_period_seconds=0)

    threading.Thread(target=mutate, daemon=True).start()
    watcher = watch.Watch()
    events = _collect(watcher.stream(core.list_namespaced_pod, 'default', resource_version=start_rv, timeout_seconds=10),
                      lambda evs: evs[-1][0] == 'DELETED')
    watcher.stop()
    types = [t for t, name in events if name == 'w1']
    assert types[0] == 'ADDED' and 'MODIFIED' in types and types[-1] == 'DELETED'


def test_watch_without_resource_version_starts_with_current_objects_and_honours_timeout(core):
    core.create_namespaced_persistent_volume_claim('default', pvc('existing', storage_class='none'))
    started = time.monotonic()
    events = list(watch.Watch().stream(core.list_namespaced_persistent_volume_claim, 'default', timeout_seconds=1))
    elapsed = time.monotonic() - started
    assert [(e['type'], e['object'].metadata.name) for e in events][:1] == [('ADDED', 'existing')]
    assert 0.9 <= elapsed < 5


def test_watch_label_selector_turns_relabel_into_added_and_deleted(core):
    core.create_namespaced_pod('default', pod('sel', labels={'app': 'other'}))
    rv = core.list_namespaced_pod('default').metadata.resource_version

    def mutate():
        time.sleep(0.2)
        core.patch_namespaced_pod('sel', 'default', {'metadata': {'labels': {'app': 'target'}}})
        core.patch_namespaced_pod('sel', 'default', {'metadata': {'labels': {'app': 'gone'}}})

    threading.Thread(target=mutate, daemon=True).start()
    events = _collect(watch.Watch().stream(core.list_namespaced_pod, 'default', label_selector='app=target', resource_version=rv,
                                           timeout_seconds=5), lambda evs: len(evs) >= 2)
    assert events == [('ADDED', 'sel'), ('DELETED', 'sel')]


def test_watch_from_expired_resource_version_reports_410(server, core):
    server.emulator.store.history_size = 5
    try:
        for i in range(8):
            core.create_namespaced_persistent_volume_claim('default', pvc(f'h{i}', storage_class='none'))
        # The server answers 200 + an ERROR event with a 410 Status; the client turns it into ApiException(410).
        with pytest.raises(ApiException) as info:
            list(watch.Watch().stream(core.list_namespaced_persistent_volume_claim, 'default', resource_version='1', timeout_seconds=2))
        assert info.value.status == 410 and 'Expired' in info.value.reason
    finally:
        server.emulator.store.history_size = 10000


def test_dynamic_client_watch(dyn, core):
    pods = dyn.resources.get(api_version='v1', kind='Pod')
    rv = core.list_namespaced_pod('default').metadata.resource_version

    def create():
        time.sleep(0.2)
        core.create_namespaced_pod('default', pod('dynwatch'))

    threading.Thread(target=create, daemon=True).start()
    watcher = watch.Watch()
    seen = None
    for event in pods.watch(namespace='default', name='dynwatch', resource_version=rv, timeout=5, watcher=watcher):
        seen = (event['type'], event['object'].metadata.name, event['object'].kind)
        watcher.stop()
    assert seen == ('ADDED', 'dynwatch', 'Pod')
