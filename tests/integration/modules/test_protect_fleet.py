"""playbooks/protect_fleet.yml over the protectables inventory, through real ansible-playbook runs: two slices run
at the same time, then the whole fleet with forks - converging to exactly one snapshot per resource."""
import pytest

from conftest import Manila
from fleet_helpers import finish_fleet, managed_snapshots, start_fleet, write_inventory

CLOUDS = {'demo': 'localcloud-demo', 'demo2': 'localcloud-demo2'}
FLEET_VARS = dict(fleet_clouds=CLOUDS, fleet_snapshot_name='fleet', fleet_retain=1, fleet_min_age=3600,
                  fleet_timeout=120, fleet_poll_interval=0.5)


@pytest.fixture
def resources(make_volume, make_share, lc_demo2, unique):
    tag = {'dp_fleet': unique}
    volumes = [make_volume(unique + '-a', metadata=tag), make_volume(unique + '-b', metadata=tag),
               make_volume(unique + '-c', conn=lc_demo2, metadata=tag)]
    share = make_share(unique + '-s', metadata=tag)
    return tag, volumes, share


def share_snapshots(manila_admin, share_id):
    return [s for s in manila_admin.snapshots(share_id) if (s.get('metadata') or {}).get('dataprotection_managed')]


def test_slices_then_forks_converge(cloud_env, admin_conn, manila_admin, resources, unique, tmp_path):
    tag, volumes, share = resources
    names = {unique + '-a', unique + '-b', unique + '-c', unique + '-s'}
    options = dict(cloud='localcloud-admin', all_projects=True, metadata=tag)
    # two slices at the same time, as AWX sliced job templates (here: the inventory's own slice options)
    procs = [start_fleet(cloud_env, write_inventory(str(tmp_path), name='slice%d' % i, slice_count=2, slice_index=i,
                                                    **options), forks=2, extra_vars=FLEET_VARS) for i in (1, 2)]
    runs = [finish_fleet(proc) for proc in procs]
    for rc, out, _recap in runs:
        assert rc == 0, out[-3000:]
    slices = [set(recap) for _rc, _out, recap in runs]
    assert not slices[0] & slices[1], slices
    assert slices[0] | slices[1] == names
    for volume in volumes:
        assert len(managed_snapshots(admin_conn, volume.id)) == 1, volume.name
    assert len(share_snapshots(manila_admin, share.id)) == 1

    # the whole fleet with forks: nothing left to do, still one snapshot each
    rc, out, recap = finish_fleet(start_fleet(cloud_env, write_inventory(str(tmp_path), **options), forks=4,
                                              extra_vars=FLEET_VARS))
    assert rc == 0, out[-3000:]
    assert set(recap) == names and all(counts['changed'] == 0 for counts in recap.values()), out[-3000:]
    for volume in volumes:
        snaps = managed_snapshots(admin_conn, volume.id)
        assert len(snaps) == 1 and snaps[0].metadata['dataprotection_protection'] == 'fleet', volume.name
    # each snapshot belongs to the volume's own project (per-project credentials), not the admin's
    assert managed_snapshots(admin_conn, volumes[2].id)[0].project_id == volumes[2].project_id


def test_host_without_credentials_of_its_project_fails_clearly(cloud_env, admin_conn, make_volume, lc_demo2, unique,
                                                               tmp_path):
    tag = {'dp_fleet': unique}
    volume = make_volume(unique + '-c', conn=lc_demo2, metadata=tag)
    source = write_inventory(str(tmp_path), cloud='localcloud-admin', all_projects=True, metadata=tag)
    # demo's credentials for a volume of demo2: refused, nothing created
    rc, out, recap = finish_fleet(start_fleet(cloud_env, source, forks=2, extra_vars=dict(
        FLEET_VARS, fleet_clouds={}, fleet_cloud='localcloud-demo')))
    assert rc != 0 and recap[unique + '-c']['failed'] == 1, out[-3000:]
    assert 'volume %s: not found' % volume.id in out and 'Traceback' not in out, out[-3000:]
    assert managed_snapshots(admin_conn, volume.id) == []
