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
* ``project.py`` - restore of a tenant backup: every server and volume recreated as new resources.
"""
