"""The role's systemd unit, rendered with the role defaults, passes `systemd-analyze verify` without a warning.

No systemd runs as PID 1 on the test machines themselves (the freezer_scheduler_systemd molecule scenario boots
one in a Debian 13 container and checks the unit as systemd applied it); this checks the directives quickly.
systemd-analyze checks the directives and that ExecStart is executable, so the virtualenv is a temporary
directory holding a stand-in freezer-scheduler.
"""
import os
import shutil
import subprocess

import jinja2
import pytest
import yaml

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles', 'freezer_scheduler')


def render_unit(tmp_path, **overrides):
    with open(os.path.join(ROLE, 'defaults', 'main.yml')) as handle:
        variables = yaml.safe_load(handle)
    venv_bin = tmp_path / 'venv' / 'bin'
    venv_bin.mkdir(parents=True)
    (venv_bin / 'freezer-scheduler').write_text('#!/bin/sh\n')
    (venv_bin / 'freezer-scheduler').chmod(0o755)
    variables.update(ansible_managed='Ansible managed', freezer_scheduler_venv=str(tmp_path / 'venv'), **overrides)
    with open(os.path.join(ROLE, 'templates', 'freezer-scheduler.service.j2')) as handle:
        template = jinja2.Template(handle.read(), undefined=jinja2.StrictUndefined)
    unit = tmp_path / 'freezer-scheduler.service'
    unit.write_text(template.render(**variables))
    return unit


def verify(unit):
    analyze = shutil.which('systemd-analyze')
    assert analyze, 'systemd-analyze is missing: make setup installs the Debian package systemd'
    proc = subprocess.run([analyze, 'verify', '--man=no', str(unit)], capture_output=True, text=True, check=False)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def test_rendered_unit_verifies_cleanly(tmp_path):
    unit = render_unit(tmp_path)
    text = unit.read_text()
    assert '--config-file /etc/freezer-scheduler/scheduler.conf --config-file /etc/freezer-scheduler/service_auth.conf start' in text
    assert 'User=freezer-scheduler' in text and 'UMask=0077' in text
    assert verify(unit) == (0, '')


def test_a_broken_directive_is_reported(tmp_path):
    unit = render_unit(tmp_path)
    unit.write_text(unit.read_text().replace('Restart=on-failure', 'Restart=sometimes'))
    _rc, output = verify(unit)
    assert 'restart specifier' in output


@pytest.mark.parametrize('home', ['/home/freezer', '/root/freezer'])
def test_home_is_not_hidden_by_protect_home(tmp_path, home):
    # ProtectHome=true hides /home and /root even from ReadWritePaths: the scheduler could not write its home.
    unit = render_unit(tmp_path, freezer_scheduler_home=home)
    text = unit.read_text()
    assert 'ProtectHome=read-only' in text and ('ReadWritePaths=%s ' % home) in text
    assert verify(unit) == (0, '')


def test_default_home_keeps_other_homes_hidden(tmp_path):
    assert 'ProtectHome=true' in render_unit(tmp_path).read_text()
