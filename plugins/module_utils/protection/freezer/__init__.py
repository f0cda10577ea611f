# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Freezer: one file per job.

* ``api.py`` - the freezer-api v2 REST client (jobs, actions, clients, backups) and its error type;
* ``views.py`` - what the modules return (secrets redacted), the ``schedule`` option as job_schedule keys;
* ``plan.py`` - resource lookups and the Freezer actions per resource type (volume, server, project);
* ``jobs.py`` - the job lifecycle: managed (scheduled) jobs and one-shot operations, with verification in
  Cinder and cleanup;
* ``recovery.py`` - disaster recovery: a ``cindernative`` backup restored into a NEW volume through Cinder;
* ``servers.py`` - ``nova`` mode (image-booted servers): backup checks and cleanup, restore as a NEW server;
* ``boot_volume.py`` - volume-booted servers: the server recorded in its boot volume's Cinder backup, restore as a
  NEW volume and a NEW server booted from it;
* ``project.py`` - restore of a tenant backup: every server and volume recreated as new resources;
* ``cinder_mode.py`` - ``cinder`` volume mode (through Glance): the agent watched (it waits forever on some Cinder
  failures), its temporaries verified gone or cleaned up, one protection's stored backups removed;
* ``cinder_restore.py`` - ``cinder`` volume mode: restore as a NEW volume, named, marked, found again.
"""
