"""freezer_job (issue 14): a project restore takes what ONE project backup covered - the manifest the module records
per project backup in the project's bank container - not every volume ever backed up under the name.

Real ansible-playbook runs against the local cloud's freezer-api, Cinder (backup) and Swift; the jobs run on the
local cloud's central freezer-scheduler, in a project of its own (the ``tenant`` fixture of test_freezer_job).
Volumes only (servers are slow; the nova records of a manifest are unit-tested in test_freezer_manifests.py).
"""
import os

import openstack

from conftest import get_or_none, wait_status
from playbook_runner import PlaybookRun, finish, start_tasks
from test_freezer_job import MODULE, backups_named, job, read_marker, write_marker
from test_freezer_job_project import tenant  # noqa: F401 (fixture)

BANK = 'dataprotection-bank'
MANIFESTS = 'checkpoints/freezer_project-'


def manifest_indexes(conn):
    try:
        return sorted(o.name for o in conn.object_store.objects(BANK, prefix=MANIFESTS)
                      if o.name.endswith('/index.json'))
    except openstack.exceptions.NotFoundException:
        return []


def volume(conn, name):
    made = conn.block_storage.create_volume(name=name, size=1, availability_zone='nova')
    made = wait_status(lambda: get_or_none(conn.block_storage.get_volume, made.id), {'available', 'error'})
    assert made.status == 'available'
    return made


def delete_volume(conn, volume_id):
    conn.block_storage.delete_volume(volume_id)
    wait_status(lambda: get_or_none(conn.block_storage.get_volume, volume_id), {'gone'}, timeout=180)


def timed(label, run):
    """The run, its time printed (module elapsed, whole ansible-playbook) for the docs' numbers; never asserted."""
    print('%s: module %.1f s, playbook %.1f s %s' % (label, run.get('elapsed') or 0, run.seconds,
                                                    run.get('timings') or ''))
    return run


def play(env, *tasks):
    """Several freezer_job tasks (register, args, check) in ONE ansible-playbook run (each run costs ~15 s of
    Ansible start-up on the loaded test machine); the results by register name."""
    defaults = dict(timeout=300, poll_interval=1)
    run = finish(start_tasks([{'name': register, MODULE: dict(defaults, **args), 'register': register,
                               'check_mode': check} for register, args, check in tasks], env=env))
    print('play of %d tasks: %.1f s' % (len(tasks), run.seconds))
    return dict((register, PlaybookRun(run.rc, run[register], '', 0)) for register, _args, _check in tasks)


def test_project_restore_takes_only_the_chosen_backup_session(tenant):  # noqa: F811
    conn, env, freezer_t = tenant['conn'], tenant['env'], tenant['freezer']
    name = tenant['cloud']
    a, b = volume(conn, name + '-a'), volume(conn, name + '-b')
    marks = dict((key, os.urandom(16)) for key in ('a1', 'b1', 'a2'))
    write_marker(a.id, marks['a1'])
    write_marker(b.id, marks['b1'])
    base = dict(cloud=name, resource_type='project', backup_name=name, client_id='localcloud-central', timeout=300)

    # backup 1: A and B
    first = timed('backup 1', job(env, operation='backup', **base))
    assert first.changed is True and not first.failed, first
    one = first['manifest']
    assert sorted(v['id'] for v in one['volumes']) == sorted([a.id, b.id]) and one['job_id'], one
    assert sorted(v['cinder_backup_id'] for v in one['volumes']) == sorted(
        x.id for x in backups_named(conn, a.id, name) + backups_named(conn, b.id, name))
    assert manifest_indexes(conn) == ['checkpoints/%s/index.json' % one['id']]

    # B deleted, A changed, backup 2: A only
    write_marker(a.id, marks['a2'])
    delete_volume(conn, b.id)
    second = timed('backup 2', job(env, operation='backup', **base))
    assert second.changed is True and not second.failed, second
    two = second['manifest']
    assert [v['id'] for v in two['volumes']] == [a.id] and two['time_stamp'] > one['time_stamp']
    assert len(manifest_indexes(conn)) == 2

    # everything is gone; the restore brings back what backup 2 covered: A, as it was then (before the fix: B too);
    # with restore_from_date before backup 2, backup 1's session: A and B as they were then
    delete_volume(conn, a.id)
    restore = dict(base, operation='restore')
    runs = play(env, ('check', restore, True), ('restored', restore, False), ('again', restore, False),
                ('older', dict(restore, restore_from_date=one['taken_at'], restore_prefix='old-'), False))
    check, restored, again, older = runs['check'], runs['restored'], runs['again'], runs['older']
    assert check.changed is True and not check.failed and sorted(check['resource_map']) == [a.id], check
    assert restored.changed is True and not restored.failed, restored
    assert restored['resource_map'] == {a.id: restored['restored'][0]['id']}, restored['resource_map']
    assert restored['manifest']['id'] == two['id'] and not restored.get('warnings'), restored
    new_a = conn.block_storage.get_volume(restored['resource_map'][a.id])
    assert new_a.name == '%s-%s' % (name, a.id) and read_marker(new_a.id, 16) == marks['a2']
    assert again.changed is False and again['resource_map'] == restored['resource_map'], again
    assert older.changed is True and not older.failed and older['manifest']['id'] == one['id'], older
    assert sorted(older['resource_map']) == sorted([a.id, b.id])
    assert read_marker(older['resource_map'][a.id], 16) == marks['a1']
    assert read_marker(older['resource_map'][b.id], 16) == marks['b1']
    assert sorted(v.id for v in conn.block_storage.volumes()) == sorted(
        [new_a.id, older['resource_map'][a.id], older['resource_map'][b.id]])

    # admin of the protection: every backup it made (also of the volumes gone since) and its manifests
    admin = dict(base, operation='admin')
    runs = play(env, ('planned', admin, True), ('removed', admin, False), ('again', admin, False))
    planned, removed = runs['planned'], runs['removed']
    assert planned.changed is True and sorted(planned['deleted_manifests']) == sorted([one['id'], two['id']])
    assert len(planned['deleted_backups']) == 3, planned
    assert removed.changed is True and not removed.failed, removed
    assert sorted(removed['deleted_backups']) == sorted(planned['deleted_backups'])
    assert sorted(removed['deleted_manifests']) == sorted(planned['deleted_manifests'])
    assert runs['again'].changed is False and not runs['again'].failed, runs['again']
    assert manifest_indexes(conn) == [] and freezer_t.backups_of(name) == [] and freezer_t.jobs_of(name) == []
    assert [x for x in conn.block_storage.backups() if x.name == name] == []
