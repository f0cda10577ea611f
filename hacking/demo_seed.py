#!/usr/bin/env python3
"""Seed the local cloud with what playbooks/demo.yml protects (idempotent), as devstack seeds demo data."""
import os
import sys
import time

import openstack

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    config = openstack.config.OpenStackConfig(config_files=[os.path.join(ROOT, '.localcloud', 'clouds.yaml')],
                                              load_envvars=False)
    conn = openstack.connection.Connection(config=config.get_one(cloud='localcloud-demo'))
    volumes = [v for v in conn.block_storage.volumes(name='demo-data') if v.name == 'demo-data']
    volume = volumes[0] if volumes else conn.block_storage.create_volume(name='demo-data', size=1)
    deadline = time.monotonic() + 120
    while volume.status != 'available':
        if volume.status == 'error' or time.monotonic() > deadline:
            sys.exit('demo seed: volume demo-data is %s' % volume.status)
        time.sleep(1)
        volume = conn.block_storage.get_volume(volume.id)
    print('demo seed: volume demo-data %s is available' % volume.id)


if __name__ == '__main__':
    main()
