"""Test glue for the molecule scenario: reads and fixtures through openstacksdk on the local cloud.

Usage: cloud_helper.py COMMAND ARGS... ; prints JSON. Trust ids are never printed (only whether one exists).
"""
import json
import os
import sys
import time

import openstack

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
CLOUDS = os.path.join(ROOT, '.localcloud', 'clouds.yaml')
FREEZER = 'http://127.0.0.1:9090'


def conn(cloud):
    cfg = openstack.config.OpenStackConfig(config_files=[CLOUDS], load_envvars=False)
    return openstack.connection.Connection(config=cfg.get_one(cloud=cloud))


def freezer(c, method, path, **kwargs):
    url = '%s/v2/%s%s' % (FREEZER, c.current_project_id, path)
    response = c.session.request(url, method, raise_exc=False, **kwargs)
    return response.status_code, (response.json() if response.content else {})


def wait(fetch, wanted, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        obj = fetch()
        status = getattr(obj, 'status', None) if obj is not None else 'gone'
        if status in wanted:
            return obj
        if time.monotonic() > deadline:
            raise SystemExit('still %s after %ss' % (status, timeout))
        time.sleep(0.5)


def get_or_none(getter, rid):
    try:
        return getter(rid)
    except openstack.exceptions.NotFoundException:
        return None


def main(cmd, *args):
    if cmd == 'create-volume':
        c = conn(args[0])
        volume = c.block_storage.create_volume(name=args[1], size=1, availability_zone='nova')
        volume = wait(lambda: get_or_none(c.block_storage.get_volume, volume.id), {'available', 'error'})
        return dict(id=volume.id, status=volume.status, project_id=c.current_project_id)
    if cmd == 'backups':
        c = conn(args[0])
        return [dict(id=b.id, name=b.name, status=b.status, volume_id=b.volume_id, project_id=c.current_project_id)
                for b in c.block_storage.backups(details=True, volume_id=args[1]) if b.volume_id == args[1]]
    if cmd == 'fs-job':
        c = conn(args[0])
        action = dict(action='backup', mode='fs', path_to_backup='/etc', backup_name=args[2], storage='local',
                      container='/tmp/' + args[2])
        doc = dict(client_id=args[1], description=args[2], job_schedule={}, job_actions=[dict(freezer_action=action)])
        status, body = freezer(c, 'POST', '/jobs', json=doc)
        return dict(status=status, job_id=body.get('job_id'), body=body if status >= 300 else None)
    if cmd == 'job':
        c = conn(args[0])
        status, body = freezer(c, 'GET', '/jobs/' + args[1])
        if status != 200:
            return dict(status=status)
        creds = body.pop('user_credentials', None) or {}
        body['has_trust'] = bool(creds.get('trust_id'))
        return dict(status=status, job=body)
    if cmd == 'delete-job':
        c = conn(args[0])
        status, body = freezer(c, 'GET', '/jobs/' + args[1])
        freezer(c, 'DELETE', '/jobs/' + args[1])
        for entry in body.get('job_actions') or [] if status == 200 else []:
            freezer(c, 'DELETE', '/actions/' + entry['action_id'])
        return dict(status=status)
    if cmd == 'cleanup':  # cloud, volume name: its backups, Freezer records of that backup_name, the volume
        c = conn(args[0])
        bs = c.block_storage
        for volume in [v for v in bs.volumes(details=True) if v.name == args[1]]:
            for backup in bs.backups(details=True, volume_id=volume.id):
                if backup.volume_id == volume.id:
                    bs.delete_backup(backup.id, ignore_missing=True)
                    wait(lambda b=backup: get_or_none(bs.get_backup, b.id), {'gone', 'error_deleting'})
            bs.delete_volume(volume.id, ignore_missing=True)
            wait(lambda v=volume: get_or_none(bs.get_volume, v.id), {'gone', 'error_deleting'})
        status, body = freezer(c, 'GET', '/backups', params=dict(limit=1000))
        for record in body.get('backups') or []:
            if (record.get('backup_metadata') or {}).get('backup_name') == args[1]:
                freezer(c, 'DELETE', '/backups/' + record['backup_id'])
        return dict(cleaned=args[1])
    raise SystemExit('unknown command %s' % cmd)


if __name__ == '__main__':
    print(json.dumps(main(*sys.argv[1:])))
