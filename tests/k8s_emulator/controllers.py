"""Background controllers: scheduler + kubelet, protection finalizers, namespaces, serviceaccounts; PV controller in
pv_controller.py, workload/endpoints/garbage-collector controllers in workloads.py."""

import copy
import logging
import threading
import time

from . import errors, strategies, util
from .discovery import BY_NAME
from .pv_controller import PVController, claim_names, volume_identity  # noqa: F401  (re-exported)
from .registry import TERMINAL_POD_PHASES
from .workloads import Workloads

LOG = logging.getLogger('k8s_emulator')

ANN_FAIL = 'emulator.localcloud/fail'
ANN_FAIL_MESSAGE = 'emulator.localcloud/fail-message'
ANN_START_DELAY = 'emulator.localcloud/start-delay'
CINDER_CSI = 'cinder.csi.openstack.org'


class Controllers(PVController):
    """Reconciles the store every ``tick`` seconds and right after each API write."""

    def __init__(self, emulator):
        self.emu = emulator
        self.store = emulator.store
        self.kick = threading.Event()
        self.stopping = threading.Event()
        self.thread = None
        self.started_at = {}
        self.ip_counter = 10
        self.pending_hooks = []
        self.namespace_seen = {}  # namespace uid -> monotonic time the serviceaccounts controller first saw it
        self.workloads = Workloads(emulator)  # workload, endpoints, root-CA and garbage-collector controllers

    def start(self):
        """Run in a daemon thread."""
        self.thread = threading.Thread(target=self._run, name='k8s-emulator-controllers', daemon=True)
        self.thread.start()

    def stop(self):
        """Stop the thread."""
        self.stopping.set()
        self.kick.set()
        if self.thread:
            self.thread.join(timeout=5)

    def _run(self):
        while not self.stopping.is_set():
            self.kick.wait(self.emu.config['tick'])
            self.kick.clear()
            if self.stopping.is_set() or self.emu.config.get('paused'):
                continue
            try:
                self.reconcile()
                self.emu.save()
            except Exception:  # pylint: disable=broad-except
                LOG.exception('controller pass failed')

    def reconcile(self):
        """Run passes until nothing changes (bounded), then call reclaim hooks outside the lock."""
        for _ in range(20):
            with self.store.lock:
                changed = any([self._sync_service_accounts(), self._sync_claims(), self._sync_volumes(), self._sync_pods(),
                               self.emu.attacher.sync(), self._release_finalizers(), self._sync_namespaces(), self.workloads.sync()])
            if not changed:
                break
        hooks, self.pending_hooks = self.pending_hooks, []
        for pv in hooks:
            hook = self.emu.hooks.get('on_pv_delete')
            if hook:
                try:
                    hook(pv)
                except Exception:  # pylint: disable=broad-except
                    LOG.exception('on_pv_delete hook failed')

    def _put(self, resource, obj):
        self.store.put(resource, obj)
        return True

    # ------------------------------------------------------------ serviceaccounts controller
    def _sync_service_accounts(self):
        """Real: kube-controller-manager creates the ``default`` ServiceAccount of every active namespace, shortly after the
        namespace (``service_account_delay`` seconds here); until then pods using it are refused (kubernetes#66689)."""
        changed = False
        delay = float(self.emu.config.get('service_account_delay', 0))
        for ns in self.store.list_raw('namespaces'):
            meta = ns['metadata']
            if meta.get('deletionTimestamp') or self.store.get_raw('serviceaccounts', meta['name'], 'default') is not None:
                continue
            seen = self.namespace_seen.setdefault(meta['uid'], time.monotonic())
            if time.monotonic() - seen >= delay:
                self.emu.create_default_service_account(meta['name'])
                self.namespace_seen.pop(meta['uid'], None)
                changed = True
        return changed

    # ------------------------------------------------------------ scheduler + kubelet
    def _unschedulable_reason(self, pod):
        for name in claim_names(pod):
            pvc = self.store.get_raw('persistentvolumeclaims', pod['metadata']['namespace'], name)
            if pvc is None:
                return f'persistentvolumeclaim "{name}" not found'
            if pvc['metadata'].get('deletionTimestamp'):
                return f'persistentvolumeclaim "{name}" is being deleted'
            if pvc['status'].get('phase') != 'Bound':
                return 'pod has unbound immediate PersistentVolumeClaims'
        return ''

    @staticmethod
    def _set_condition(pod, ctype, status, reason=None, message=None):
        conditions = pod['status'].setdefault('conditions', [])
        current = next((c for c in conditions if c['type'] == ctype), None)
        new = {'type': ctype, 'status': status, 'lastProbeTime': None, 'lastTransitionTime': util.now()}
        if reason:
            new['reason'] = reason
        if message:
            new['message'] = message
        if current and current.get('status') == status and current.get('reason') == reason and current.get('message') == message:
            return False
        if current:
            conditions[conditions.index(current)] = new
        else:
            conditions.append(new)
        return True

    def _sync_pods(self):
        changed = False
        node = self.emu.config['node_name']
        for raw in self.store.list_raw('pods'):
            pod = copy.deepcopy(raw)
            meta, spec, status = pod['metadata'], pod['spec'], pod['status']
            if meta.get('deletionTimestamp'):
                changed = self._terminate(pod) or changed
                continue
            if status.get('phase') == 'Running' and self._ephemeral_statuses(pod):
                changed = self._put('pods', pod) or changed
            if status.get('phase') != 'Pending':
                continue
            if not spec.get('nodeName'):
                reason = self._unschedulable_reason(pod)
                if reason:
                    message = f'0/1 nodes are available: {reason}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.'
                    self.emu.record_event(pod, 'Warning', 'FailedScheduling', message, component='default-scheduler')
                    if self._set_condition(pod, 'PodScheduled', 'False', 'Unschedulable', message):
                        changed = self._put('pods', pod) or changed
                    continue
                spec['nodeName'] = node
                self._set_condition(pod, 'PodScheduled', 'True')
                self.emu.record_event(pod, 'Normal', 'Scheduled', f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}",
                                      component='default-scheduler')
                changed = self._put('pods', pod) or changed
                continue
            if spec['nodeName'] != node:
                continue  # Real: no kubelet runs on an unknown node, so the pod is never started.
            changed = self._kubelet_start(pod) or changed
        return changed

    def _kubelet_start(self, pod):
        meta, spec, status = pod['metadata'], pod['spec'], pod['status']
        anns = meta.get('annotations') or {}
        uid = meta['uid']
        for name in claim_names(pod):
            pvc = self.store.get_raw('persistentvolumeclaims', meta['namespace'], name)
            if pvc is None or pvc['status'].get('phase') != 'Bound':
                self.emu.record_event(pod, 'Warning', 'FailedMount', f'Unable to attach or mount volumes: unmounted volumes=[{name}]: '
                                      'timed out waiting for the condition', component='kubelet')
                return False
        waiting = self.emu.attacher.attached(pod)
        if waiting:
            # Real: the kubelet waits for the attach-detach controller (VolumeAttachment attached) before mounting.
            self.emu.record_event(pod, 'Warning', 'FailedAttachVolume', waiting, component='attachdetach-controller')
            return False
        self.started_at.setdefault(uid, time.monotonic())
        try:
            delay = float(anns.get(ANN_START_DELAY, self.emu.config['pod_start_delay']))
        except ValueError:
            delay = 0.0
        if time.monotonic() - self.started_at[uid] < delay:
            if not status.get('containerStatuses'):
                status['containerStatuses'] = [self._container_status(c, 'waiting', {'reason': 'ContainerCreating'}) for c in spec['containers']]
                status['startTime'] = util.now()
                return self._put('pods', pod)
            return False
        self.ip_counter += 1
        host_ip = '10.0.0.11'
        status.update({'hostIP': host_ip, 'hostIPs': [{'ip': host_ip}], 'podIP': f'10.244.0.{self.ip_counter % 250 + 2}',
                       'startTime': status.get('startTime') or util.now()})
        status['podIPs'] = [{'ip': status['podIP']}]
        if spec.get('initContainers'):
            status['initContainerStatuses'] = [self._container_status(c, 'terminated', {'exitCode': 0, 'reason': 'Completed'})
                                               for c in spec['initContainers']]
        fail = str(anns.get(ANN_FAIL, '')).lower()
        self._set_condition(pod, 'PodReadyToStartContainers', 'True')
        self._set_condition(pod, 'Initialized', 'True')
        if fail in ('true', 'yes', '1'):
            message = anns.get(ANN_FAIL_MESSAGE, 'emulator: container exited with code 1 (annotation emulator.localcloud/fail)')
            status['phase'] = 'Failed'
            status['reason'] = 'Error'
            status['message'] = message
            status['containerStatuses'] = [self._container_status(c, 'terminated', {'exitCode': 1, 'reason': 'Error', 'message': message})
                                           for c in spec['containers']]
            self._set_condition(pod, 'Ready', 'False', 'PodFailed')
            self._set_condition(pod, 'ContainersReady', 'False', 'PodFailed')
            self.emu.record_event(pod, 'Warning', 'BackOff', message, component='kubelet')
        elif fail == 'crashloop':
            status['phase'] = 'Running'
            status['containerStatuses'] = [self._container_status(c, 'waiting', {
                'reason': 'CrashLoopBackOff', 'message': f"back-off 10s restarting failed container={c['name']} pod={meta['name']}"}, restarts=1)
                for c in spec['containers']]
            names = ' '.join(f"[{c['name']}]" for c in spec['containers'])
            self._set_condition(pod, 'Ready', 'False', 'ContainersNotReady', f'containers with unready status: {names}')
            self._set_condition(pod, 'ContainersReady', 'False', 'ContainersNotReady', f'containers with unready status: {names}')
        else:
            status['phase'] = 'Running'
            status['containerStatuses'] = [self._container_status(c, 'running', {}) for c in spec['containers']]
            self._set_condition(pod, 'ContainersReady', 'True')
            self._set_condition(pod, 'Ready', 'True')
            for c in spec['containers']:
                self.emu.record_event(pod, 'Normal', 'Started', f"Started container {c['name']}", component='kubelet')
        return self._put('pods', pod)

    def _ephemeral_statuses(self, pod):
        """Real kubelet: an ephemeral container added through pods/ephemeralcontainers gets a running status."""
        status = pod['status']
        known = {s['name'] for s in status.get('ephemeralContainerStatuses') or []}
        added = [c for c in pod['spec'].get('ephemeralContainers') or [] if c.get('name') not in known]
        if not added:
            return False
        status.setdefault('ephemeralContainerStatuses', []).extend(self._container_status(c, 'running', {}) for c in added)
        return True

    @staticmethod
    def _container_status(container, state, details, restarts=0):
        running = state == 'running'
        if state in ('running', 'terminated'):
            details = dict(details, startedAt=util.now())
        if state == 'terminated':
            details['finishedAt'] = util.now()
            details['containerID'] = 'containerd://' + util.random_hex(64)
        image = container.get('image', '')
        entry = {'name': container['name'], 'image': image, 'imageID': '' if state == 'waiting' and not restarts else
                 f"{image.split('@')[0].split(':')[0]}@sha256:{util.random_hex(64)}",
                 'ready': running, 'started': running, 'restartCount': restarts, 'state': {state: details}, 'lastState': {}}
        if state != 'waiting' or restarts:
            entry['containerID'] = 'containerd://' + util.random_hex(64)
        return entry

    def _terminate(self, pod):
        """Kubelet side of graceful deletion: stop containers, then delete the pod (finalizers keep it, terminated)."""
        meta, status = pod['metadata'], pod['status']
        if status.get('phase') in TERMINAL_POD_PHASES and meta.get('finalizers'):
            return False
        if meta.get('finalizers'):
            status['phase'] = 'Succeeded' if status.get('phase') == 'Running' else 'Failed'
            for entry in status.get('containerStatuses') or []:
                entry.update({'ready': False, 'started': False,
                              'state': {'terminated': {'exitCode': 0, 'reason': 'Completed', 'startedAt': util.now(), 'finishedAt': util.now()}}})
            return self._put('pods', pod)
        self.started_at.pop(meta['uid'], None)
        self.store.remove('pods', pod)
        return True

    # ------------------------------------------------------------ protection controllers
    def _release_finalizers(self):
        changed = False
        for resource, finalizer in (('persistentvolumeclaims', strategies.PVC_PROTECTION), ('persistentvolumes', strategies.PV_PROTECTION)):
            for raw in self.store.list_raw(resource):
                meta = raw['metadata']
                if not meta.get('deletionTimestamp') or finalizer not in (meta.get('finalizers') or []):
                    continue
                if resource == 'persistentvolumeclaims' and self._pvc_in_use(raw):
                    continue  # Real pvc-protection: a scheduled, non-terminated pod still uses it.
                if resource == 'persistentvolumes' and raw['status'].get('phase') == 'Bound':
                    continue  # Real pv-protection: kept while Bound.
                obj = copy.deepcopy(raw)
                obj['metadata']['finalizers'] = [f for f in meta['finalizers'] if f != finalizer]
                if obj['metadata']['finalizers']:
                    self.store.put(resource, obj)
                else:
                    self.store.remove(resource, obj)
                changed = True
        return changed

    def _pvc_in_use(self, pvc):
        for pod in self.store.list_raw('pods', pvc['metadata']['namespace']):
            if (pod['spec'].get('nodeName') and pod['status'].get('phase') not in TERMINAL_POD_PHASES
                    and pvc['metadata']['name'] in claim_names(pod)):
                return True
        return False

    # ------------------------------------------------------------ namespace controller
    def _sync_namespaces(self):
        changed = False
        for raw in self.store.list_raw('namespaces'):
            if not raw['metadata'].get('deletionTimestamp'):
                continue
            name = raw['metadata']['name']
            remaining = 0
            for res in BY_NAME.values():
                if not res.namespaced:
                    continue
                for obj in self.store.list_raw(res.name, name):
                    remaining += 1
                    if not obj['metadata'].get('deletionTimestamp'):
                        try:
                            self.emu.registry.delete(res, name, obj['metadata']['name'], {})
                            changed = True
                        except errors.ApiError:
                            pass
            if remaining:
                continue
            ns = copy.deepcopy(raw)
            if ns['spec'].get('finalizers'):
                ns['spec']['finalizers'] = []
                if ns['metadata'].get('finalizers'):
                    self.store.put('namespaces', ns)
                    changed = True
                    continue
            if not ns['metadata'].get('finalizers'):
                self.store.remove('namespaces', ns)
                changed = True
        return changed
