"""The emulated resource table and the discovery documents built from it (/version, /api, /api/v1, /apis, ...)."""

from dataclasses import dataclass

SERVER_VERSION = {
    # Real: GET /version returns version.Info; it is readable without credentials (system:public-info-viewer).
    'major': '1', 'minor': '33', 'emulationMajor': '1', 'emulationMinor': '33', 'minCompatibilityMajor': '1', 'minCompatibilityMinor': '32',
    'gitVersion': 'v1.33.0-localcloud-emulator', 'gitCommit': '0000000000000000000000000000000000000000', 'gitTreeState': 'clean',
    'buildDate': '2025-01-01T00:00:00Z', 'goVersion': 'go1.24.0', 'compiler': 'gc', 'platform': 'linux/amd64',
}

ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']


@dataclass(frozen=True)
class Resource:
    """One REST resource: its plural name, Kind, group/version, scope and discovery data."""

    name: str
    kind: str
    group: str = ''
    version: str = 'v1'
    namespaced: bool = True
    short_names: tuple = ()
    subresources: tuple = ()
    verbs: tuple = tuple(ALL_VERBS)
    has_status: bool = True
    singular: str = ''
    categories: tuple = ()
    field_selectors: tuple = ('metadata.name', 'metadata.namespace')

    @property
    def api_version(self):
        """``v1`` or ``group/version``."""
        return f'{self.group}/{self.version}' if self.group else self.version

    @property
    def list_kind(self):
        """``PodList`` and friends."""
        return self.kind + 'List'


RESOURCES = [
    Resource('namespaces', 'Namespace', namespaced=False, short_names=('ns',), subresources=('status', 'finalize'),
             verbs=('create', 'delete', 'get', 'list', 'patch', 'update', 'watch'), singular='namespace',
             field_selectors=('metadata.name', 'status.phase')),
    Resource('pods', 'Pod', short_names=('po',), subresources=('status', 'ephemeralcontainers', 'exec'), singular='pod', categories=('all',),
             field_selectors=('metadata.name', 'metadata.namespace', 'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName',
                              'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName')),
    Resource('persistentvolumeclaims', 'PersistentVolumeClaim', short_names=('pvc',), subresources=('status',),
             singular='persistentvolumeclaim'),
    Resource('persistentvolumes', 'PersistentVolume', namespaced=False, short_names=('pv',), subresources=('status',),
             singular='persistentvolume', field_selectors=('metadata.name',)),
    Resource('events', 'Event', short_names=('ev',), has_status=False, singular='event',
             field_selectors=('metadata.name', 'metadata.namespace', 'involvedObject.kind', 'involvedObject.namespace',
                              'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion',
                              'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type')),
    Resource('serviceaccounts', 'ServiceAccount', short_names=('sa',), has_status=False, singular='serviceaccount'),
    Resource('configmaps', 'ConfigMap', short_names=('cm',), has_status=False, singular='configmap'),
    Resource('secrets', 'Secret', has_status=False, singular='secret',
             field_selectors=('metadata.name', 'metadata.namespace', 'type')),
    Resource('services', 'Service', short_names=('svc',), subresources=('status',), singular='service', categories=('all',)),
    Resource('endpoints', 'Endpoints', short_names=('ep',), has_status=False, singular='endpoints'),
    # Real (apps/v1): workloads list status and scale subresources and belong to the 'all' category.
    Resource('deployments', 'Deployment', group='apps', short_names=('deploy',), subresources=('status', 'scale'),
             singular='deployment', categories=('all',)),
    Resource('replicasets', 'ReplicaSet', group='apps', short_names=('rs',), subresources=('status', 'scale'),
             singular='replicaset', categories=('all',)),
    Resource('statefulsets', 'StatefulSet', group='apps', short_names=('sts',), subresources=('status', 'scale'),
             singular='statefulset', categories=('all',)),
    Resource('daemonsets', 'DaemonSet', group='apps', short_names=('ds',), subresources=('status',),
             singular='daemonset', categories=('all',)),
    Resource('volumeattachments', 'VolumeAttachment', group='storage.k8s.io', namespaced=False, subresources=('status',),
             singular='volumeattachment', field_selectors=('metadata.name',)),
    Resource('storageclasses', 'StorageClass', group='storage.k8s.io', namespaced=False, short_names=('sc',), has_status=False,
             singular='storageclass', field_selectors=('metadata.name',)),
]

BY_NAME = {r.name: r for r in RESOURCES}
BY_KIND = {r.kind: r for r in RESOURCES}
GROUPS = {'apps': ['v1'], 'storage.k8s.io': ['v1']}


def resources_of(group, version):
    """Resources served under one group/version."""
    return [r for r in RESOURCES if r.group == group and r.version == version]


def find(group, version, name):
    """The resource named ``name`` in group/version, or None."""
    for res in resources_of(group, version):
        if res.name == name:
            return res
    return None


def _api_resource(res):
    entry = {'name': res.name, 'singularName': res.singular, 'namespaced': res.namespaced, 'kind': res.kind, 'verbs': list(res.verbs)}
    if res.short_names:
        entry['shortNames'] = list(res.short_names)
    if res.categories:
        entry['categories'] = list(res.categories)
    return entry


def resource_list(group, version):
    """APIResourceList for ``/api/v1`` or ``/apis/<group>/<version>``; subresources are listed as ``pods/status``."""
    entries = []
    for res in resources_of(group, version):
        entries.append(_api_resource(res))
        for sub in res.subresources:
            # Real: subresources have an empty singularName and only the verbs they serve.
            verbs = ['update'] if sub == 'finalize' else ['get', 'patch', 'update']
            if sub == 'exec':
                verbs = ['create', 'get']  # Real: a connect subresource, kind PodExecOptions
            entry = {'name': f'{res.name}/{sub}', 'singularName': '', 'namespaced': res.namespaced,
                     'kind': 'PodExecOptions' if sub == 'exec' else res.kind, 'verbs': verbs}
            if sub == 'scale':
                entry.update(group='autoscaling', version='v1', kind='Scale')  # Real: scale is autoscaling/v1 Scale
            entries.append(entry)
    doc = {'kind': 'APIResourceList', 'groupVersion': f'{group}/{version}' if group else version, 'resources': entries}
    if group:
        # Real: group discovery documents carry apiVersion v1, the legacy /api/v1 one does not.
        doc['apiVersion'] = 'v1'
    return doc


def api_versions(server_address):
    """APIVersions for ``/api``."""
    return {'kind': 'APIVersions', 'versions': ['v1'],
            'serverAddressByClientCIDRs': [{'clientCIDR': '0.0.0.0/0', 'serverAddress': server_address}]}


def _group(name):
    versions = [{'groupVersion': f'{name}/{v}', 'version': v} for v in GROUPS[name]]
    return {'name': name, 'versions': versions, 'preferredVersion': versions[0]}


def api_group_list():
    """APIGroupList for ``/apis`` (non-aggregated form; clients fall back to it when aggregated discovery is not offered)."""
    return {'kind': 'APIGroupList', 'apiVersion': 'v1', 'groups': [_group(name) for name in GROUPS]}


def api_group(name):
    """APIGroup for ``/apis/<group>``."""
    doc = {'kind': 'APIGroup', 'apiVersion': 'v1'}
    doc.update(_group(name))
    return doc
