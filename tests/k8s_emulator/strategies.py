"""Per-kind defaulting, admission and validation: what kube-apiserver's registry strategies and admission plugins do."""

import copy

from . import errors, util
from .errors import field_error

NAMESPACE_LABEL = 'kubernetes.io/metadata.name'
DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class'
PVC_PROTECTION = 'kubernetes.io/pvc-protection'
PV_PROTECTION = 'kubernetes.io/pv-protection'
# Real: the beta annotation still selects a claim's (and a PV's) class, ahead of spec.storageClassName.
LEGACY_CLASS_ANNOTATION = 'volume.beta.kubernetes.io/storage-class'
SA_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount'
ACCESS_MODES = ('ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod')
PV_SOURCES = ('gcePersistentDisk', 'awsElasticBlockStore', 'hostPath', 'glusterfs', 'nfs', 'rbd', 'iscsi', 'cinder', 'cephfs', 'fc',
              'flocker', 'flexVolume', 'azureFile', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'portworxVolume',
              'scaleIO', 'local', 'storageos', 'csi')
POD_VOLUME_SOURCES = PV_SOURCES + ('emptyDir', 'secret', 'configMap', 'persistentVolumeClaim', 'downwardAPI', 'projected', 'gitRepo',
                                   'ephemeral', 'image')
POD_UPDATE_FORBIDDEN = ('pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,'
                        '`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),'
                        '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)')


# ---------------------------------------------------------------- defaulting (runs on create AND update, like SetDefaults_*)

def apply_defaults(res, obj):
    """Defaults the real server fills in when decoding a request body."""
    spec = obj.setdefault('spec', {}) if res.name in ('pods', 'persistentvolumeclaims', 'persistentvolumes', 'namespaces') else None
    if res.name == 'pods':
        spec.setdefault('restartPolicy', 'Always')
        spec.setdefault('terminationGracePeriodSeconds', 30)
        spec.setdefault('dnsPolicy', 'ClusterFirst')
        spec.setdefault('securityContext', {})
        spec.setdefault('schedulerName', 'default-scheduler')
        spec.setdefault('enableServiceLinks', True)
        if spec.get('serviceAccountName') and not spec.get('serviceAccount'):
            spec['serviceAccount'] = spec['serviceAccountName']
        for key in ('containers', 'initContainers'):
            for container in spec.get(key) or []:
                _default_container(container)
    elif res.name == 'persistentvolumeclaims':
        spec.setdefault('volumeMode', 'Filesystem')
        _canonical_resources(spec.get('resources'))
    elif res.name == 'persistentvolumes':
        # Real: a manually created PV defaults to Retain (dynamically provisioned ones inherit the class's policy).
        spec.setdefault('persistentVolumeReclaimPolicy', 'Retain')
        spec.setdefault('volumeMode', 'Filesystem')
        if isinstance(spec.get('capacity'), dict):
            spec['capacity'] = {k: util.canonical_quantity(v) for k, v in spec['capacity'].items()}
    elif res.name == 'namespaces':
        spec.setdefault('finalizers', ['kubernetes'])
        # Real (1.21+): every namespace carries the immutable label kubernetes.io/metadata.name=<name>.
        obj['metadata'].setdefault('labels', {})[NAMESPACE_LABEL] = obj['metadata'].get('name', '')
    elif res.name == 'storageclasses':
        obj.setdefault('reclaimPolicy', 'Delete')
        obj.setdefault('volumeBindingMode', 'Immediate')


def apply_container_defaults(container):
    """Container defaults (also for ephemeral containers)."""
    _default_container(container)


def _default_container(container):
    image = container.get('image') or ''
    tag = image.rsplit('/', 1)[-1]
    if '@' in tag:
        policy = 'IfNotPresent'
    elif ':' not in tag or tag.endswith(':latest'):
        policy = 'Always'
    else:
        policy = 'IfNotPresent'
    container.setdefault('imagePullPolicy', policy)
    container.setdefault('terminationMessagePath', '/dev/termination-log')
    container.setdefault('terminationMessagePolicy', 'File')
    container.setdefault('resources', {})
    _canonical_resources(container['resources'])
    for port in container.get('ports') or []:
        if isinstance(port, dict):
            port.setdefault('protocol', 'TCP')


def _canonical_resources(resources):
    if not isinstance(resources, dict):
        return
    for key in ('requests', 'limits'):
        if isinstance(resources.get(key), dict):
            for name, value in list(resources[key].items()):
                try:
                    util.parse_quantity(value)
                except ValueError as exc:
                    raise errors.bad_request(f'quantities must match the regular expression: {exc}') from None
                resources[key][name] = util.canonical_quantity(value)


# ---------------------------------------------------------------- admission + create-time system fields

def admit_create(res, obj, store):
    """Admission plugins and PrepareForCreate: status reset, SA token volume, default class, protection finalizers."""
    meta = obj['metadata']
    if res.name == 'pods':
        spec = obj['spec']
        # ServiceAccount admission: default SA and the projected kube-api-access-<5> token volume mounted in every container.
        spec.setdefault('serviceAccountName', 'default')
        spec.setdefault('serviceAccount', spec['serviceAccountName'])
        account = spec['serviceAccountName']
        if store.get_raw('serviceaccounts', meta.get('namespace', ''), account) is None:
            # Real ServiceAccount admission: 403 when the account does not exist (yet: the "default" account of a new
            # namespace is created by the serviceaccounts controller shortly after the namespace, kubernetes#66689).
            raise errors.forbidden('pods', meta.get('name', ''), f"error looking up service account {meta.get('namespace')}/{account}: "
                                   f'serviceaccount "{account}" not found')
        if spec.get('ephemeralContainers'):
            # Real ValidatePodCreate: ephemeral containers are added only through the pods/ephemeralcontainers subresource.
            raise errors.invalid('Pod', meta.get('name', ''), [field_error('FieldValueForbidden', 'spec.ephemeralContainers',
                                                                           'cannot be set on create')])
        if spec.get('automountServiceAccountToken') is not False:
            _inject_token_volume(spec)
        # DefaultTolerationSeconds admission.
        tolerations = spec.setdefault('tolerations', [])
        for key in ('node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'):
            if not any(t.get('key') == key for t in tolerations):
                tolerations.append({'key': key, 'operator': 'Exists', 'effect': 'NoExecute', 'tolerationSeconds': 300})
        # Priority admission.
        spec.setdefault('priority', 0)
        spec.setdefault('preemptionPolicy', 'PreemptLowerPriority')
        obj['status'] = {'phase': 'Pending', 'qosClass': _qos_class(spec)}
    elif res.name == 'persistentvolumeclaims':
        if 'storageClassName' not in obj['spec'] and LEGACY_CLASS_ANNOTATION not in (meta.get('annotations') or {}):
            # DefaultStorageClass admission: only when the field is absent (an explicit "" means "no class") and the
            # claim has no legacy class annotation (real: GetPersistentVolumeClaimClass reads the annotation first).
            default = next((sc for sc in store.list_raw('storageclasses')
                            if (sc['metadata'].get('annotations') or {}).get(DEFAULT_CLASS_ANNOTATION) == 'true'), None)
            if default:
                obj['spec']['storageClassName'] = default['metadata']['name']
        obj['status'] = {'phase': 'Pending'}
        _add_finalizer(meta, PVC_PROTECTION)  # StorageObjectInUseProtection admission
    elif res.name == 'persistentvolumes':
        obj['status'] = {'phase': 'Pending'}
        _add_finalizer(meta, PV_PROTECTION)
    elif res.name == 'namespaces':
        obj['status'] = {'phase': 'Active'}


def claim_class(obj):
    """Real GetPersistentVolumeClaimClass / GetPersistentVolumeClass: the beta annotation wins over spec.storageClassName."""
    annotations = obj['metadata'].get('annotations') or {}
    if LEGACY_CLASS_ANNOTATION in annotations:
        return annotations[LEGACY_CLASS_ANNOTATION] or ''
    return (obj.get('spec') or {}).get('storageClassName') or ''


def _add_finalizer(meta, name):
    finalizers = meta.setdefault('finalizers', [])
    if name not in finalizers:
        finalizers.append(name)


def _inject_token_volume(spec):
    containers = (spec.get('containers') or []) + (spec.get('initContainers') or [])
    if any(m.get('mountPath') == SA_MOUNT_PATH for c in containers for m in c.get('volumeMounts') or []):
        return
    name = 'kube-api-access-' + util.random_suffix()
    spec.setdefault('volumes', []).append({'name': name, 'projected': {'defaultMode': 420, 'sources': [
        {'serviceAccountToken': {'expirationSeconds': 3607, 'path': 'token'}},
        {'configMap': {'name': 'kube-root-ca.crt', 'items': [{'key': 'ca.crt', 'path': 'ca.crt'}]}},
        {'downwardAPI': {'items': [{'path': 'namespace', 'fieldRef': {'apiVersion': 'v1', 'fieldPath': 'metadata.namespace'}}]}}]}})
    for container in containers:
        container.setdefault('volumeMounts', []).append({'name': name, 'readOnly': True, 'mountPath': SA_MOUNT_PATH})


def _qos_class(spec):
    requests, limits = False, []
    for container in spec.get('containers') or []:
        resources = container.get('resources') or {}
        if resources.get('requests') or resources.get('limits'):
            requests = True
        lim, req = resources.get('limits') or {}, resources.get('requests') or resources.get('limits') or {}
        limits.append(all(k in lim and lim.get(k) == req.get(k) for k in ('cpu', 'memory')))
    if limits and all(limits):
        return 'Guaranteed'
    return 'Burstable' if requests else 'BestEffort'


# ---------------------------------------------------------------- validation

def validate_name(res, meta):
    """metadata.name: required (or generateName) and DNS-1123 (label for namespaces, subdomain otherwise)."""
    name = meta.get('name')
    if not name:
        return [field_error('FieldValueRequired', 'metadata.name', 'name or generateName is required')]
    check = util.dns1123_label_errors if res.name == 'namespaces' else util.dns1123_subdomain_errors
    return [field_error('FieldValueInvalid', 'metadata.name', message, name) for message in check(name)]


def validate(res, obj):
    """ValidateXxx on create and update: returns details.causes entries."""
    causes = validate_name(res, obj['metadata'])
    spec = obj.get('spec') or {}
    if res.name == 'pods':
        causes += _validate_pod(spec)
    elif res.name == 'persistentvolumeclaims':
        causes += _validate_access_modes(spec, 'spec.accessModes')
        storage = ((spec.get('resources') or {}).get('requests') or {}).get('storage')
        if storage is None:
            causes.append(field_error('FieldValueRequired', 'spec.resources[storage]', ''))
    elif res.name == 'persistentvolumes':
        causes += _validate_pv(spec)
    elif res.name == 'storageclasses':
        if not obj.get('provisioner'):
            causes.append(field_error('FieldValueRequired', 'provisioner', ''))
        if obj.get('reclaimPolicy') not in ('Delete', 'Retain'):
            causes.append(field_error('FieldValueNotSupported', 'reclaimPolicy', 'supported values: "Delete", "Retain"', obj.get('reclaimPolicy')))
    return causes


def _validate_access_modes(spec, path):
    modes = spec.get('accessModes') or []
    if not modes:
        return [field_error('FieldValueRequired', path, 'at least 1 access mode is required')]
    supported = ', '.join(f'"{m}"' for m in ACCESS_MODES)
    return [field_error('FieldValueNotSupported', path, f'supported values: {supported}', m) for m in modes if m not in ACCESS_MODES]


def _validate_pv(spec):
    causes = []
    if not (spec.get('capacity') or {}).get('storage'):
        causes.append(field_error('FieldValueRequired', 'spec.capacity', ''))
    causes += _validate_access_modes(spec, 'spec.accessModes')
    sources = [key for key in PV_SOURCES if spec.get(key) is not None]
    if not sources:
        causes.append(field_error('FieldValueRequired', 'spec', 'must specify a volume type'))
    elif len(sources) > 1:
        causes.append(field_error('FieldValueForbidden', 'spec', 'may not specify more than 1 volume type'))
    if spec.get('csi') is not None:
        for key in ('driver', 'volumeHandle'):
            if not spec['csi'].get(key):
                causes.append(field_error('FieldValueRequired', f'spec.csi.{key}', ''))
    if spec.get('cinder') is not None and not spec['cinder'].get('volumeID'):
        causes.append(field_error('FieldValueRequired', 'spec.cinder.volumeID', ''))
    policy = spec.get('persistentVolumeReclaimPolicy')
    if policy not in ('Retain', 'Delete', 'Recycle'):
        causes.append(field_error('FieldValueNotSupported', 'spec.persistentVolumeReclaimPolicy',
                                  'supported values: "Delete", "Recycle", "Retain"', policy))
    return causes


def _validate_pod(spec):
    causes = []
    volumes = spec.get('volumes') or []
    names = set()
    for i, volume in enumerate(volumes):
        path = f'spec.volumes[{i}]'
        if not volume.get('name'):
            causes.append(field_error('FieldValueRequired', f'{path}.name', ''))
        elif volume['name'] in names:
            causes.append(field_error('FieldValueDuplicate', f'{path}.name', '', volume['name']))
        names.add(volume.get('name'))
        sources = [key for key in POD_VOLUME_SOURCES if volume.get(key) is not None]
        if not sources:
            causes.append(field_error('FieldValueRequired', path, 'must specify a volume type'))
        elif len(sources) > 1:
            causes.append(field_error('FieldValueForbidden', f'{path}.{sources[1]}', 'may not specify more than 1 volume type'))
        if volume.get('persistentVolumeClaim') is not None and not volume['persistentVolumeClaim'].get('claimName'):
            causes.append(field_error('FieldValueRequired', f'{path}.persistentVolumeClaim.claimName', ''))
    if not spec.get('containers'):
        causes.append(field_error('FieldValueRequired', 'spec.containers', ''))
    for key in ('initContainers', 'containers'):
        seen = set()
        for i, container in enumerate(spec.get(key) or []):
            path = f'spec.{key}[{i}]'
            name = container.get('name')
            if not name:
                causes.append(field_error('FieldValueRequired', f'{path}.name', ''))
            elif name in seen:
                causes.append(field_error('FieldValueDuplicate', f'{path}.name', '', name))
            else:
                causes += [field_error('FieldValueInvalid', f'{path}.name', m, name) for m in util.dns1123_label_errors(name)]
            seen.add(name)
            if not container.get('image'):
                causes.append(field_error('FieldValueRequired', f'{path}.image', ''))
            for j, mount in enumerate(container.get('volumeMounts') or []):
                if mount.get('name') not in names:
                    causes.append(field_error('FieldValueNotFound', f'{path}.volumeMounts[{j}].name', '', mount.get('name')))
                if not mount.get('mountPath'):
                    causes.append(field_error('FieldValueRequired', f'{path}.volumeMounts[{j}].mountPath', ''))
    policy = spec.get('restartPolicy')
    if policy not in ('Always', 'OnFailure', 'Never'):
        causes.append(field_error('FieldValueNotSupported', 'spec.restartPolicy', 'supported values: "Always", "OnFailure", "Never"', policy))
    return causes


def _changed_keys(new, old, prefix):
    keys = sorted(set(new or {}) | set(old or {}))
    return [f'{prefix}.{k}' for k in keys if (new or {}).get(k) != (old or {}).get(k)]


def validate_update(res, new, old, store):
    """ValidateXxxUpdate: immutable fields. Returns causes; raises 403 for admission refusals (PVC resize)."""
    causes = []
    if new['metadata'].get('uid') != old['metadata'].get('uid'):
        causes.append(field_error('FieldValueInvalid', 'metadata.uid', 'field is immutable', new['metadata'].get('uid')))
    if res.name == 'namespaces' and (new['metadata'].get('labels') or {}).get(NAMESPACE_LABEL) != old['metadata']['name']:
        new['metadata'].setdefault('labels', {})[NAMESPACE_LABEL] = old['metadata']['name']
    if res.name == 'pods':
        causes += _validate_pod_update(new['spec'], old['spec'])
    elif res.name == 'persistentvolumes':
        new_spec, old_spec = new['spec'], old['spec']
        if any(new_spec.get(k) != old_spec.get(k) for k in PV_SOURCES):
            causes.append(field_error('FieldValueForbidden', 'spec.persistentvolumesource', 'spec.persistentvolumesource is immutable after creation'))
        if new_spec.get('volumeMode') != old_spec.get('volumeMode'):
            causes.append(field_error('FieldValueInvalid', 'spec.volumeMode', 'field is immutable', new_spec.get('volumeMode')))
        if old_spec.get('nodeAffinity') and new_spec.get('nodeAffinity') != old_spec.get('nodeAffinity'):
            causes.append(field_error('FieldValueInvalid', 'spec.nodeAffinity', 'field is immutable', 'object'))
    elif res.name == 'persistentvolumeclaims':
        causes += _validate_pvc_update(new, old, store)
    elif res.name == 'storageclasses':
        for key in ('parameters', 'provisioner', 'reclaimPolicy', 'volumeBindingMode'):
            if new.get(key) != old.get(key):
                causes.append(field_error('FieldValueForbidden', key, f'updates to {key} are forbidden.'))
    return causes


def _validate_pod_update(new_spec, old_spec):
    # Real ValidatePodUpdate: copy the mutable fields from the new spec onto the old one and require equality.
    mutated = copy.deepcopy(new_spec)
    for key in ('containers', 'initContainers'):
        new_list, old_list = mutated.get(key) or [], old_spec.get(key) or []
        if len(new_list) == len(old_list):
            for new_c, old_c in zip(new_list, old_list):
                if 'image' in old_c and new_c.get('image'):
                    new_c['image'] = old_c['image']
    if 'activeDeadlineSeconds' in old_spec or 'activeDeadlineSeconds' in mutated:
        new_ads, old_ads = mutated.get('activeDeadlineSeconds'), old_spec.get('activeDeadlineSeconds')
        if new_ads is not None and (old_ads is None or 0 < new_ads <= old_ads):
            mutated['activeDeadlineSeconds'] = old_ads
            if old_ads is None:
                del mutated['activeDeadlineSeconds']
    old_tol, new_tol = old_spec.get('tolerations') or [], mutated.get('tolerations') or []
    if new_tol[:len(old_tol)] == old_tol:
        if old_tol or 'tolerations' in old_spec:
            mutated['tolerations'] = old_spec.get('tolerations')
        else:
            mutated.pop('tolerations', None)
    if (old_spec.get('terminationGracePeriodSeconds') or 0) < 0 and mutated.get('terminationGracePeriodSeconds') == 1:
        mutated['terminationGracePeriodSeconds'] = old_spec['terminationGracePeriodSeconds']
    if mutated == old_spec:
        return []
    changed = ', '.join(_changed_keys(mutated, old_spec, 'spec'))
    return [field_error('FieldValueForbidden', 'spec', f'{POD_UPDATE_FORBIDDEN}\n  (emulator: changed {changed})')]


def _validate_pvc_update(new, old, store):
    new_spec, old_spec = copy.deepcopy(new['spec']), old['spec']
    if not old_spec.get('volumeName'):
        # Real: volumeName may be set once (the PV controller and pre-binding users do that).
        new_spec['volumeName'] = old_spec.get('volumeName')
        if new_spec['volumeName'] is None:
            del new_spec['volumeName']
    if 'storageClassName' not in old_spec and 'storageClassName' in new_spec:
        del new_spec['storageClassName']  # Real (1.28+): retroactive default class assignment sets a nil class once.
    old_storage = ((old_spec.get('resources') or {}).get('requests') or {}).get('storage')
    new_storage = ((new_spec.get('resources') or {}).get('requests') or {}).get('storage')
    bound = (old.get('status') or {}).get('phase') == 'Bound'
    causes = []
    if bound and new_storage != old_storage and new_storage is not None:
        if util.parse_quantity(new_storage)[0] < util.parse_quantity(old_storage)[0]:
            causes.append(field_error('FieldValueForbidden', 'spec.resources.requests.storage', 'field can not be less than previous value'))
        else:
            sc = store.get_raw('storageclasses', '', old_spec.get('storageClassName') or '')
            if not sc or not sc.get('allowVolumeExpansion'):
                # PersistentVolumeClaimResize admission plugin.
                raise errors.forbidden('persistentvolumeclaims', new['metadata']['name'],
                                       'only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc '
                                       'must support resize')
        new_spec.setdefault('resources', {}).setdefault('requests', {})['storage'] = old_storage
    if new_spec != old_spec and not causes:
        changed = ', '.join(_changed_keys(new_spec, old_spec, 'spec'))
        causes.append(field_error('FieldValueForbidden', 'spec',
                                  'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound '
                                  f'claims\n  (emulator: changed {changed})'))
    return causes


def copy_status_for_update(res, new, old, subresource):
    """Main resource updates keep the stored status; /status updates keep everything but status (ResetObjectMetaForStatus)."""
    if not res.has_status:
        return new
    if subresource == 'status':
        result = copy.deepcopy(old)
        result['status'] = new.get('status') or {}
        result['metadata']['resourceVersion'] = new['metadata'].get('resourceVersion', '')
        return result
    if 'status' in old:
        new['status'] = copy.deepcopy(old['status'])
    else:
        new.pop('status', None)
    if res.name == 'namespaces':
        new.setdefault('spec', {})['finalizers'] = copy.deepcopy(old['spec'].get('finalizers', []))  # only /finalize may change them
    return new
