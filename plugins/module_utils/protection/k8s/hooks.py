# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Application-consistent hooks: commands run in the pods' containers right before and right after the volume
snapshots (or backups), as Velero's backup hooks do.

Where the hooks come from, per pod and phase: the pod's Velero annotations
(``pre.hook.backup.velero.io/command`` ... ``/container``, ``/on-error``, ``/timeout``, and the ``post.`` twins)
when the pod has that phase's ``command`` annotation (and ``velero_annotations`` is on), else the ``hooks``
option's list for the phase. Velero's defaults: the pod's first container, on-error ``Fail``, timeout ``30s``;
an annotation command is a JSON array or one word; a bad timeout or on-error value falls back to the default
with a warning.

Order: every pod's pre hooks, then the snapshots, then every pod's post hooks. A pre hook that fails with
``on_error: fail`` stops the protection before any snapshot; the post hooks of every pod whose pre hooks started
still run (an ``fsfreeze --freeze`` is undone), and so they do when the snapshots fail. A post hook that fails
with ``on_error: fail`` fails the protection. ``on_error: continue`` records the failure and goes on.

A hook fails when it exits non-zero, cannot start, is refused (pod not running, unknown container) or is still
running at its timeout (the stream is then closed). Results keep at most OUTPUT_LIMIT characters of stdout and
stderr: hook output can hold secrets, and it is returned in the task result.
"""

from __future__ import annotations

import json
import re
import time

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.validation import InputError

PHASES = ('pre', 'post')
ANNOTATIONS = dict(pre='pre.hook.backup.velero.io/', post='post.hook.backup.velero.io/')
DEFAULT_TIMEOUT = 30  # seconds: Velero's default hook timeout
OUTPUT_LIMIT = 512  # characters of stdout / stderr kept in results and messages
_DURATION = re.compile(r'(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)')
_UNITS = dict(ns=1e-9, us=1e-6, ms=1e-3, s=1.0, m=60.0, h=3600.0)
_UNITS['µs'] = 1e-6


class HookFailed(ProtectionError):
    """A hook with on_error fail failed."""


def _truncate(text, limit=OUTPUT_LIMIT):
    text = text or ''
    return text if len(text) <= limit else '%s... (%d more characters)' % (text[:limit], len(text) - limit)


def parse_duration(value):
    """Seconds of a Go duration (``30s``, ``1m30s``, ``500ms``), as Velero's annotations write them; None if bad."""
    text = str(value).strip()
    if text in ('0',):
        return 0.0
    position, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != position:
            return None
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    return total if position == len(text) and text else None


def check_hooks(hooks):
    """The ``hooks`` option, checked before any API call (Ansible checked the types and choices)."""
    hooks = hooks or {}
    for phase in PHASES:
        for number, hook in enumerate(hooks.get(phase) or []):
            where = 'hooks.%s[%d]' % (phase, number)
            command = hook.get('command') or []
            if not command:
                raise InputError('%s.command is empty: give the command and its arguments as a list, e.g. '
                                 '[fsfreeze, --freeze, /data]' % where)
            if not str(command[0]).strip():
                raise InputError('%s.command[0] is empty: it names the executable to run' % where)
            if hook.get('timeout') is not None and hook['timeout'] <= 0:
                raise InputError('%s.timeout must be > 0 seconds, got %s' % (where, hook['timeout']))
            if hook.get('container') is not None and not str(hook['container']).strip():
                raise InputError('%s.container is empty: name a container of the pod, or leave it out for the '
                                 'first one' % where)
    return hooks


def annotation_hook(pod, phase):
    """The Velero annotation hook of a pod for a phase, or None (Velero's parsing and defaults)."""
    annotations = pod['metadata'].get('annotations') or {}
    prefix = ANNOTATIONS[phase]
    raw = annotations.get(prefix + 'command')
    if not raw or not raw.strip():
        return None
    command = [raw]
    if raw.lstrip().startswith('['):
        try:
            parsed = json.loads(raw)
            if isinstance(parsed, list) and parsed:
                command = [str(word) for word in parsed]
        except ValueError:
            pass  # Velero: not a JSON array -> the whole value is one word
    hook = dict(container=annotations.get(prefix + 'container') or None, command=command, source='annotation',
                on_error='continue' if annotations.get(prefix + 'on-error') == 'Continue' else 'fail',
                timeout=DEFAULT_TIMEOUT, warning=None)
    if annotations.get(prefix + 'timeout'):
        seconds = parse_duration(annotations[prefix + 'timeout'])
        if seconds is None or seconds < 0:
            hook['warning'] = ('annotation %stimeout %r is not a duration such as 30s; the default %ds is used'
                               % (prefix, annotations[prefix + 'timeout'], DEFAULT_TIMEOUT))
        elif seconds > 0:
            hook['timeout'] = seconds
    if annotations.get(prefix + 'on-error') not in (None, 'Continue', 'Fail'):
        hook['warning'] = ('annotation %son-error %r is neither Fail nor Continue; Fail is used'
                           % (prefix, annotations[prefix + 'on-error']))
    return hook


def plan_hooks(pods, hooks):
    """[(pod, {phase: [hook, ...]})] for the pods that have any hook; ``hooks`` is the checked option."""
    hooks = hooks or {}
    use_annotations = hooks.get('velero_annotations', True) is not False
    planned = []
    for pod in pods:
        first = ((pod.get('spec') or {}).get('containers') or [{}])[0].get('name')
        phases = {}
        for phase in PHASES:
            found = annotation_hook(pod, phase) if use_annotations else None
            chosen = [found] if found else [dict(h, source='hooks', warning=None) for h in hooks.get(phase) or []]
            phases[phase] = [dict(h, container=h.get('container') or first,
                                  timeout=h.get('timeout') or DEFAULT_TIMEOUT,
                                  on_error=h.get('on_error') or 'fail') for h in chosen]
        if phases['pre'] or phases['post']:
            planned.append((pod, phases))
    return planned


class HookRunner:
    """Runs the planned hooks of the selected pods around the volume protections (a context manager).

    ``results``: one record per hook run (or, in check mode, planned). ``aftermath()``: what the post hooks that
    ran after a failure left to say (for the failure message).
    """

    def __init__(self, kube, pods, hooks, timings=None):
        self.kube = kube
        self.plan = plan_hooks(pods, hooks)
        self.timings = timings
        self.results = []
        self._started = []
        self._post_failures = []
        self._after = False

    def planned(self):
        """The hooks a real run would run (check mode): status ``(would run)``."""
        return [self._record(pod, phase, hook, status='(would run)') for pod, phases in self.plan
                for phase in PHASES for hook in phases[phase]]

    @staticmethod
    def _key(pod):
        return '%s/%s' % (pod['metadata'].get('namespace'), pod['metadata']['name'])

    def _record(self, pod, phase, hook, **fields):
        record = dict(pod=self._key(pod), container=hook['container'], phase=phase, command=list(hook['command']),
                      source=hook['source'], on_error=hook['on_error'], timeout=hook['timeout'], status=None,
                      exit_code=None, seconds=None, stdout='', stderr='')
        if hook.get('warning'):
            record['warning'] = hook['warning']
        record.update(fields)
        return record

    def _run(self, pod, phase, hook):
        meta = pod['metadata']
        started = time.monotonic()
        try:
            outcome = self.kube.exec_command(meta.get('namespace'), meta['name'], hook['container'], hook['command'],
                                             hook['timeout'])
        except ProtectionError as exc:  # refused: pod not running, unknown container, API unreachable
            outcome = dict(exit_code=None, stdout='', stderr='', timed_out=False, error=exc.msg,
                           seconds=round(time.monotonic() - started, 3))
        if outcome['timed_out']:
            status = 'timed out'
        elif outcome.get('error'):
            status = 'error'
        else:
            status = 'succeeded' if outcome['exit_code'] == 0 else 'failed'
        record = self._record(pod, phase, hook, status=status, exit_code=outcome['exit_code'],
                              seconds=outcome['seconds'], stdout=_truncate(outcome['stdout']),
                              stderr=_truncate(outcome['stderr']))
        if outcome.get('error'):
            record['error'] = outcome['error']
        self.results.append(record)
        return record

    @staticmethod
    def describe(record):
        """One line naming the pod, container, command and what went wrong."""
        what = '%s hook %s in container %s of pod %s' % (record['phase'], json.dumps(record['command']),
                                                         record['container'], record['pod'])
        if record['status'] == 'timed out':
            reason = 'did not finish within its timeout of %ss' % record['timeout']
        elif record['status'] == 'error':
            reason = 'could not run: %s' % record.get('error')
        else:
            reason = 'exited with code %s' % record['exit_code']
        stderr = (record.get('stderr') or '').strip()
        return '%s %s%s' % (what, reason, '; stderr: %s' % stderr if stderr else '')

    def _phase(self, phase, pods):
        """Run a phase's hooks in ``pods``; the first failure with on_error fail is returned (the phase goes on for
        post hooks, stops for pre hooks)."""
        failure = None
        for pod, phases in pods:
            if phase == 'pre':
                self._started.append((pod, phases))
            for hook in phases[phase]:
                step = self.timings.step('%s hook in pod %s' % (phase, self._key(pod))) if self.timings else None
                if step is not None:
                    with step:
                        record = self._run(pod, phase, hook)
                else:
                    record = self._run(pod, phase, hook)
                if record['status'] != 'succeeded' and hook['on_error'] == 'fail' and failure is None:
                    failure = record
                    if phase == 'pre':
                        return failure
        return failure

    def __enter__(self):
        failure = self._phase('pre', self.plan)
        if failure is not None:
            self._after_failure()
            raise HookFailed('%s; no volume was protected' % self.describe(failure))
        return self

    def __exit__(self, exc_type, exc, traceback):
        if exc is not None:
            self._after_failure()
            return False
        failure = self._phase('post', self._started)
        if failure is not None:
            raise HookFailed('the volumes were protected, but the %s' % self.describe(failure))
        return False

    def _after_failure(self):
        self._phase('post', self._started)
        self._post_failures = [r for r in self.results if r['phase'] == 'post' and r['status'] != 'succeeded']
        self._after = True

    def aftermath(self):
        """For the message of a protection that failed before the post hooks' own turn: '' or '; the post hooks
        ran ...', naming those that failed too."""
        ran = [r for r in self.results if r['phase'] == 'post']
        if not self._after or not ran:
            return ''
        if not self._post_failures:
            return '; the post hooks ran (%d succeeded)' % len(ran)
        return '; the post hooks ran, and failed too: %s' % '; '.join(self.describe(r) for r in self._post_failures)
