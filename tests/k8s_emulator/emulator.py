"""The emulated cluster: store + registry + controllers, seeded like a fresh cluster with a Cinder CSI default class."""

import logging
import os
import secrets
import threading

from . import util
from .attach import Attacher
from .cinder import Cinder
from .controllers import Controllers
from .discovery import BY_NAME
from .pod_exec import ExecLog
from .registry import Registry
from .store import Store

LOG = logging.getLogger('k8s_emulator')

DEFAULT_CONFIG = {
    'tick': 0.2,              # controller period in seconds (controllers also run right after every API write)
    'node_name': 'node-1',    # the single schedulable node
    'pod_start_delay': 0.0,   # seconds between a pod's volumes being ready and Running (per pod: annotation emulator.localcloud/start-delay)
    'paused': False,          # true: controllers do nothing (objects stay as the API left them)
    'detach_delay': 3.0,      # seconds between a pod being gone/terminated and its Cinder volumes being detached
    'service_account_delay': 0.5,  # seconds between a namespace being created and its "default" ServiceAccount
}
SEED_NAMESPACES = ('default', 'kube-system', 'kube-public', 'kube-node-lease')


class Emulator:
    """State of one emulated cluster. ``hooks['on_pv_delete']`` is called with each PV the reclaimer deletes."""

    def __init__(self, token=None, state_file=None, config=None, clouds_yaml=None, cinder_cloud=None):
        self.token = token or secrets.token_hex(16)
        self.state_file = state_file
        self.config = dict(DEFAULT_CONFIG, **(config or {}))
        self.store = Store()
        self.registry = Registry(self.store, self)
        self.controllers = Controllers(self)
        self.attacher = Attacher(self)
        self.hooks = {}
        self.reclaimed = []
        self.exec_log = ExecLog()  # pods/exec: every exec and the fsfreeze state (GET /emulator/exec-log)
        self._seen_events = set()
        self._dirty = threading.Event()
        self.store.listeners.append(self._on_change)
        if clouds_yaml and cinder_cloud:
            self.attacher.cinder = Cinder(clouds_yaml, cinder_cloud)
        if state_file and os.path.exists(state_file):
            self.store.load(state_file)
        else:
            self.seed()

    def _on_change(self, resource, event_type, obj):  # pylint: disable=unused-argument
        self._dirty.set()
        self.controllers.kick.set()

    def seed(self):
        """Namespaces default, kube-system, kube-public, kube-node-lease and the default class ``csi-cinder-sc``."""
        for name in SEED_NAMESPACES:
            self.registry.create(BY_NAME['namespaces'], '', {'metadata': {'name': name}}, {}, 'kube-apiserver')
        self.registry.create(BY_NAME['storageclasses'], '', {
            'metadata': {'name': 'csi-cinder-sc', 'annotations': {'storageclass.kubernetes.io/is-default-class': 'true'}},
            'provisioner': 'cinder.csi.openstack.org', 'reclaimPolicy': 'Delete', 'volumeBindingMode': 'Immediate',
            'allowVolumeExpansion': True}, {}, 'kube-apiserver')
        for name in SEED_NAMESPACES:
            self.create_default_service_account(name)
        # Real: kube-apiserver keeps the Service default/kubernetes (first address of the service range) and its Endpoints.
        self.registry.create(BY_NAME['services'], 'default', {
            'metadata': {'name': 'kubernetes', 'labels': {'component': 'apiserver', 'provider': 'kubernetes'}},
            'spec': {'clusterIP': '10.96.0.1', 'ports': [{'name': 'https', 'port': 443, 'protocol': 'TCP', 'targetPort': 6443}]}},
            {}, 'kube-apiserver')
        self.registry.create(BY_NAME['endpoints'], 'default', {
            'metadata': {'name': 'kubernetes', 'labels': {'endpointslice.kubernetes.io/skip-mirror': 'true'}},
            'subsets': [{'addresses': [{'ip': '10.0.0.11'}], 'ports': [{'name': 'https', 'port': 6443, 'protocol': 'TCP'}]}]},
            {}, 'kube-apiserver')

    def create_default_service_account(self, namespace):
        """The serviceaccounts controller's ``default`` account of a namespace."""
        self.store.put('serviceaccounts', {'apiVersion': 'v1', 'kind': 'ServiceAccount', 'metadata': {
            'name': 'default', 'namespace': namespace, 'uid': util.new_uid(), 'creationTimestamp': util.now()}})

    def reset(self):
        """Back to a freshly seeded cluster (config and hooks are kept, the resourceVersion counter keeps growing)."""
        with self.store.lock:
            self.store.clear()
            self.reclaimed.clear()
            self._seen_events.clear()
            self.controllers.started_at.clear()
            self.controllers.namespace_seen.clear()
            self.controllers.workloads.reset()
            self.attacher.reset()
            self.exec_log.reset()
            self.seed()

    def start(self):
        """Start the controllers and the attacher's worker."""
        self.controllers.start()
        self.attacher.start()

    def stop(self):
        """Stop the controllers and save the state file."""
        self.controllers.stop()
        self.attacher.stop()
        self.save()

    def save(self):
        """Write the state file if one is configured and something changed."""
        if self.state_file and self._dirty.is_set():
            self._dirty.clear()
            self.store.dump(self.state_file)

    def record_event(self, obj, event_type, reason, message, component=None):
        """Create a core/v1 Event about ``obj`` once per (object uid, reason, message); cluster-scoped objects -> ``default``."""
        meta = obj['metadata']
        key = (meta.get('uid'), reason, message)
        if key in self._seen_events:
            return
        namespace = meta.get('namespace') or 'default'
        ns = self.store.get_raw('namespaces', '', namespace)
        if ns is None or ns['metadata'].get('deletionTimestamp'):
            return
        self._seen_events.add(key)
        stamp = util.now()
        component = component or ('default-scheduler' if reason == 'FailedScheduling' else 'persistentvolume-controller')
        self.store.put('events', {
            'kind': 'Event', 'apiVersion': 'v1',
            'metadata': {'name': f"{meta['name']}.{util.random_hex(16)}", 'namespace': namespace, 'uid': util.new_uid(),
                         'creationTimestamp': stamp},
            'involvedObject': {k: v for k, v in (('kind', obj.get('kind')), ('namespace', meta.get('namespace')), ('name', meta['name']),
                                                 ('uid', meta.get('uid')), ('apiVersion', obj.get('apiVersion')),
                                                 ('resourceVersion', meta.get('resourceVersion'))) if v},
            'reason': reason, 'message': message, 'source': {'component': component}, 'firstTimestamp': stamp, 'lastTimestamp': stamp,
            'count': 1, 'type': event_type, 'eventTime': None, 'reportingComponent': component, 'reportingInstance': ''})

    def state(self):
        """Summary for ``GET /emulator/state``."""
        with self.store.lock:
            counts = {res: len(bucket) for res, bucket in self.store.objects.items()}
            return {'resourceVersion': str(self.store.rv), 'objects': counts, 'reclaimedVolumes': list(self.reclaimed), 'config': dict(self.config)}
