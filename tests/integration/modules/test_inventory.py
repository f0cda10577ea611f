"""The protectables inventory plugin through real ansible-inventory runs against the local cloud: two projects as
admin, a member's own project only, filters, slices, groups/compose and the inventory cache."""
import os
import time

import pytest

from conftest import wait_status
from fleet_helpers import MANAGED, hosts_of, hostvars, inventory, write_inventory


@pytest.fixture
def fleet(make_volume, make_share, lc_demo2, unique):
    """Two volumes of project demo, one of demo2 and one share of demo, all tagged with this test's metadata."""
    tag = {'dp_fleet': unique}
    made = dict(a=make_volume(unique + '-a', metadata=dict(tag, tier='gold')),
                b=make_volume(unique + '-b', metadata=tag),
                c=make_volume(unique + '-c', conn=lc_demo2, metadata=dict(tag, tier='gold')),
                s=make_share(unique + '-s', metadata=tag))
    return tag, made


def test_admin_all_projects_groups_compose(cloud_env, demo_conn, fleet, unique, tmp_path):
    tag, made = fleet
    # a protection of volume a (a collection-made snapshot) shows up in its host vars
    snap = demo_conn.block_storage.create_snapshot(volume_id=made['a'].id, name='nightly-x', metadata=dict(
        MANAGED, dataprotection_protection='nightly'))
    wait_status(lambda: demo_conn.block_storage.get_snapshot(snap.id), {'available'})
    source = write_inventory(str(tmp_path), cloud='localcloud-admin', all_projects=True, metadata=tag,
                             keyed_groups=[dict(key='protectable.project_name', prefix='project')],
                             groups=dict(gold="protectable.metadata.tier | default('') == 'gold'",
                                         unprotected="'nightly' not in protectable.protections"),
                             compose=dict(dp_kind='protectable.kind', ansible_connection="'local'"))
    rc, listing, out = inventory(cloud_env, source)
    assert rc == 0, out
    names = {unique + '-a', unique + '-b', unique + '-c', unique + '-s'}
    assert hosts_of(listing) == names
    assert hosts_of(listing, 'project_demo') == {unique + '-a', unique + '-b', unique + '-s'}
    assert hosts_of(listing, 'project_demo2') == {unique + '-c'}
    assert hosts_of(listing, 'volumes') == {unique + '-a', unique + '-b', unique + '-c'}
    assert hosts_of(listing, 'shares') == {unique + '-s'}
    assert hosts_of(listing, 'gold') == {unique + '-a', unique + '-c'}
    assert hosts_of(listing, 'unprotected') == names - {unique + '-a'}
    hv = hostvars(listing)
    a = hv[unique + '-a']['protectable']
    assert a['id'] == made['a'].id and a['kind'] == 'volume' and a['project_name'] == 'demo'
    assert a['size'] == 1 and a['status'] == 'available' and a['metadata']['tier'] == 'gold'
    assert a['protections']['nightly']['snapshot_id'] == snap.id
    assert a['protections']['nightly']['age_seconds'] >= 0 and a['protections']['nightly']['available'] == 1
    assert hv[unique + '-c']['protectable']['project_name'] == 'demo2'
    assert hv[unique + '-s']['protectable']['kind'] == 'share'
    assert hv[unique + '-b']['dp_kind'] == 'volume' and hv[unique + '-b']['ansible_connection'] == 'local'
    # no credential anywhere in the inventory
    assert 'password' not in out.lower() and 'token' not in out.lower()

    rc, _unused, graph = inventory(cloud_env, source, '--graph')
    assert rc == 0 and '@project_demo2:' in graph and unique + '-c' in graph, graph

    # filters: name pattern, availability zone, status, JMESPath
    source = write_inventory(str(tmp_path), name='filtered', cloud='localcloud-admin', all_projects=True,
                             metadata=tag, resource_types=['volume'], name_pattern='-(a|c)$',
                             availability_zones=[made['a'].availability_zone], statuses=['available'],
                             query="[?project_name=='demo2']")
    rc, listing, out = inventory(cloud_env, source)
    assert rc == 0, out
    assert hosts_of(listing) == {unique + '-c'}

    # projects: a list instead of all
    source = write_inventory(str(tmp_path), name='listed', cloud='localcloud-admin', projects=['demo2'], metadata=tag)
    rc, listing, out = inventory(cloud_env, source)
    assert rc == 0 and hosts_of(listing) == {unique + '-c'}, out

    # without all_projects, an admin sees its own project only (none of these)
    source = write_inventory(str(tmp_path), name='own', cloud='localcloud-admin', metadata=tag)
    rc, listing, out = inventory(cloud_env, source)
    assert rc == 0 and hosts_of(listing) == set(), out


def test_member_sees_only_its_project_and_slices(cloud_env, fleet, unique, tmp_path):
    tag, made = fleet
    source = write_inventory(str(tmp_path), cloud='localcloud-demo', all_projects=True, metadata=tag,
                             hostnames='id')
    rc, listing, out = inventory(cloud_env, source)
    assert rc == 0, out
    assert hosts_of(listing) == {made['a'].id, made['b'].id, made['s'].id}

    source = write_inventory(str(tmp_path), name='other', cloud='localcloud-demo', projects=['demo2'], metadata=tag)
    rc, _unused, out = inventory(cloud_env, source)
    assert rc != 0 and 'demo2' in out and 'not visible to these credentials' in out, out

    # two slices: disjoint, together every host
    sliced = []
    for index in (1, 2):
        source = write_inventory(str(tmp_path), name='slice%d' % index, cloud='localcloud-admin', all_projects=True,
                                 metadata=tag, slice_count=2, slice_index=index)
        rc, listing, out = inventory(cloud_env, source)
        assert rc == 0, out
        sliced.append(hosts_of(listing))
    assert not sliced[0] & sliced[1]
    assert sliced[0] | sliced[1] == {unique + '-a', unique + '-b', unique + '-c', unique + '-s'}

    source = write_inventory(str(tmp_path), name='badslice', cloud='localcloud-admin', metadata=tag, slice_count=2,
                             slice_index=3)
    rc, _unused, out = inventory(cloud_env, source)
    assert rc != 0 and 'slice_index' in out, out


def test_cache(cloud_env, make_volume, fleet, unique, tmp_path):
    tag, _made = fleet
    cache_dir = str(tmp_path / 'cache')
    source = write_inventory(str(tmp_path), cloud='localcloud-admin', all_projects=True, metadata=tag,
                             resource_types=['volume'], cache=True, cache_plugin='ansible.builtin.jsonfile',
                             cache_connection=cache_dir, cache_timeout=3600)
    rc, first, out = inventory(cloud_env, source)
    assert rc == 0 and len(hosts_of(first)) == 3, out
    assert os.listdir(cache_dir)
    make_volume(unique + '-d', metadata=tag)
    rc, cached, out = inventory(cloud_env, source)
    assert rc == 0 and hosts_of(cached) == hosts_of(first), out
    rc, fresh, out = inventory(cloud_env, source, '--list', '--flush-cache')
    assert rc == 0 and hosts_of(fresh) == hosts_of(first) | {unique + '-d'}, out


def test_pods_with_kubeconfig(cloud_env, localcloud, unique, tmp_path):
    """With a kubeconfig, the namespace's pods are hosts too (group pods), with their phase and volumes."""
    from kubernetes import client as k8s_client, config as k8s_config
    from playbook_runner import ROOT
    kubeconfig = localcloud.get('kubeconfig') or os.path.join(ROOT, '.localcloud', 'kubeconfig')
    cfg = k8s_client.Configuration()
    k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    core = k8s_client.CoreV1Api(k8s_client.ApiClient(cfg))
    core.create_namespace({'metadata': {'name': unique}})
    try:
        _wait_account(core, unique)
        core.create_namespaced_pod(unique, {'metadata': {'name': 'web', 'labels': {'app': 'web'}}, 'spec': {
            'serviceAccountName': 'default', 'automountServiceAccountToken': False,
            'containers': [{'name': 'web', 'image': 'nginx'}]}})
        source = write_inventory(str(tmp_path), resource_types=['pod'], kubeconfig=kubeconfig, namespaces=[unique],
                                 keyed_groups=[dict(key='protectable.metadata.app', prefix='app')])
        rc, listing, out = inventory(cloud_env, source)
        assert rc == 0, out
        host = '%s/web' % unique
        assert hosts_of(listing, 'pods') == {host} and hosts_of(listing, 'app_web') == {host}
        pod = hostvars(listing)[host]['protectable']
        assert pod['kind'] == 'pod' and pod['namespace'] == unique and pod['volumes'] == []
    finally:
        core.delete_namespace(unique)


def _wait_account(core, namespace, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(a.metadata.name == 'default' for a in core.list_namespaced_service_account(namespace).items):
            return True
        time.sleep(0.5)
    raise AssertionError('no default service account in %s' % namespace)
