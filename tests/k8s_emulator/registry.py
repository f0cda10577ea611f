"""REST semantics of kube-apiserver's generic registry: create/get/list/update/patch/delete with its checks and error codes."""

import base64
import copy
import json

from . import apps_strategies, core_strategies, errors, patch, strategies, util
from .errors import field_error
from .selection import Selector

PROTECTED_NAMESPACES = ('default', 'kube-system', 'kube-public')
TERMINAL_POD_PHASES = ('Succeeded', 'Failed')
ORPHAN_FINALIZER = 'orphan'
# Per-kind strategies kept out of strategies.py (apps/v1 workloads; ConfigMaps, Secrets, Services, Endpoints).
EXTENSIONS = {name: module for module in (apps_strategies, core_strategies) for name in module.RESOURCES}


def strip_for_list(obj):
    """List items carry no kind/apiVersion on the real server (the List does)."""
    item = copy.deepcopy(obj)
    item.pop('kind', None)
    item.pop('apiVersion', None)
    return item


class Registry:
    """Request-level operations on the store; controllers use the store directly (they are trusted components)."""

    def __init__(self, store, emulator=None):
        self.store = store
        self.emulator = emulator

    # ------------------------------------------------------------ helpers
    def _existing(self, res, namespace, name):
        obj = self.store.get(res.name, namespace if res.namespaced else '', name)
        if obj is None:
            raise errors.not_found(res.name, name, res.group)
        return obj

    def _check_type(self, res, body):
        if not isinstance(body, dict):
            raise errors.bad_request(f'the body of the request could not be decoded as a {res.kind}')
        kind, api_version = body.get('kind'), body.get('apiVersion')
        if kind and kind != res.kind:
            raise errors.bad_request(f'{kind} in version "{res.version}" cannot be handled as a {res.kind}: '
                                     f'no kind "{kind}" is registered for the requested endpoint')
        if api_version and api_version != res.api_version:
            raise errors.bad_request(f'the API version in the data ({api_version}) does not match the expected API version ({res.api_version})')
        body['kind'], body['apiVersion'] = res.kind, res.api_version
        if not isinstance(body.setdefault('metadata', {}), dict):
            raise errors.bad_request('metadata must be an object')

    def _check_namespace(self, res, namespace, body):
        meta = body['metadata']
        if not res.namespaced:
            meta.pop('namespace', None)
            return
        if meta.get('namespace') and meta['namespace'] != namespace:
            raise errors.bad_request('the namespace of the provided object does not match the namespace sent on the request')
        meta['namespace'] = namespace

    def _namespace_lifecycle(self, res, namespace, name):
        """NamespaceLifecycle admission: the namespace must exist and not be terminating."""
        if not res.namespaced:
            return
        ns = self.store.get('namespaces', '', namespace)
        if ns is None:
            raise errors.not_found('namespaces', namespace)
        if ns['metadata'].get('deletionTimestamp') and res.name != 'events':
            raise errors.forbidden(res.name, name, f'unable to create new content in namespace {namespace} because it is being terminated',
                                   causes=[{'reason': 'NamespaceTerminating', 'message': f'namespace {namespace} is being terminated',
                                            'field': 'metadata.namespace'}])

    @staticmethod
    def _manager(params, user_agent):
        manager = params.get('fieldManager')
        if not manager:
            manager = (user_agent or 'unknown').split('/')[0] or 'unknown'
        return manager

    @staticmethod
    def _track(obj, manager, operation, res, subresource=''):
        entries = [e for e in obj['metadata'].get('managedFields') or []
                   if not (e.get('manager') == manager and e.get('operation') == operation and e.get('subresource', '') == subresource)]
        entry = {'manager': manager, 'operation': operation, 'apiVersion': res.api_version, 'time': util.now(),
                 'fieldsType': 'FieldsV1', 'fieldsV1': {'f:metadata': {}}}
        if subresource:
            entry['subresource'] = subresource
        entries.append(entry)
        obj['metadata']['managedFields'] = entries

    def _invalid(self, res, name, causes):
        if causes:
            raise errors.invalid(res.kind, name, causes, res.group)

    # ------------------------------------------------------------ create
    def create(self, res, namespace, body, params, user_agent=None, operation='Update'):
        """POST: 201 with the stored object."""
        self._check_type(res, body)
        self._check_namespace(res, namespace, body)
        meta = body['metadata']
        if meta.get('resourceVersion') not in (None, '', '0'):
            # Real: etcd3 store.Create returns a plain error -> 500 with no reason.
            raise errors.internal('resourceVersion should not be set on objects to be created')
        if not meta.get('name') and meta.get('generateName'):
            meta['name'] = meta['generateName'] + util.random_suffix()
        with self.store.lock:
            self._namespace_lifecycle(res, namespace, meta.get('name', ''))
            for key in ('uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink'):
                meta.pop(key, None)
            meta['uid'] = util.new_uid()
            meta['creationTimestamp'] = util.now()
            ext = EXTENSIONS.get(res.name)
            strategies.apply_defaults(res, body)
            if ext:
                ext.apply_defaults(res, body)
            strategies.admit_create(res, body, self.store)
            if ext:
                ext.admit_create(res, body, self.store)
            self._invalid(res, meta.get('name', ''), strategies.validate(res, body) + (ext.validate(res, body) if ext else []))
            if self.store.get_raw(res.name, meta.get('namespace', ''), meta['name']) is not None:
                raise errors.already_exists(res.name, meta['name'], res.group)
            self._track(body, self._manager(params, user_agent), operation, res)
            if params.get('dryRun'):
                return 201, body
            stored = self.store.put(res.name, body)
            if res.name == 'namespaces' and self.emulator and float(self.emulator.config.get('service_account_delay', 0)) <= 0:
                self.emulator.create_default_service_account(meta['name'])  # emulator switch: no race at all
            return 201, stored

    # ------------------------------------------------------------ read
    def get(self, res, namespace, name):
        """GET one object (with kind/apiVersion)."""
        return self._existing(res, namespace, name)

    def list(self, res, namespace, params):
        """GET a collection: ``XxxList`` whose items lack kind/apiVersion; labelSelector, fieldSelector, limit/continue."""
        selector = Selector(res, params.get('labelSelector'), params.get('fieldSelector'))
        start = ''
        if params.get('continue'):
            try:
                token = json.loads(base64.urlsafe_b64decode(params['continue'].encode()).decode())
                start = token['start']
            except (ValueError, KeyError, TypeError):
                raise errors.bad_request('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)') from None
        with self.store.lock:
            rv = str(self.store.rv)
            objects = [o for o in self.store.list_raw(res.name, namespace if res.namespaced else None) if selector.matches(o)]
        objects = [o for o in objects if start == '' or self._key(o) > start]
        meta = {'resourceVersion': rv}
        limit = int(params.get('limit') or 0)
        if limit and len(objects) > limit:
            meta['continue'] = base64.urlsafe_b64encode(json.dumps({'rv': rv, 'start': self._key(objects[limit - 1])}).encode()).decode()
            meta['remainingItemCount'] = len(objects) - limit
            objects = objects[:limit]
        return {'kind': res.list_kind, 'apiVersion': res.api_version, 'metadata': meta, 'items': [strip_for_list(o) for o in objects]}

    @staticmethod
    def _key(obj):
        return f"{obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"

    # ------------------------------------------------------------ update / patch
    def update(self, res, namespace, name, body, params, subresource='', user_agent=None, operation='Update'):
        """PUT (main resource, ``/status`` or namespaces' ``/finalize``): 200 with the stored object."""
        self._check_type(res, body)
        with self.store.lock:
            old = self._existing(res, namespace, name)
            meta = body['metadata']
            if meta.get('name') and meta['name'] != name:
                raise errors.bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL ({name})")
            meta['name'] = name
            self._check_namespace(res, namespace, body)
            if meta.get('resourceVersion') and meta['resourceVersion'] != old['metadata']['resourceVersion']:
                raise errors.conflict(res.name, name, res.group)
            # rest.BeforeUpdate: system fields are kept from the stored object.
            if not meta.get('uid'):
                meta['uid'] = old['metadata']['uid']
            for key in ('creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'):
                if key in old['metadata']:
                    meta[key] = old['metadata'][key]
                else:
                    meta.pop(key, None)
            meta['managedFields'] = old['metadata'].get('managedFields', [])
            if subresource == 'finalize':
                new = copy.deepcopy(old)
                new['spec']['finalizers'] = (body.get('spec') or {}).get('finalizers') or []
            elif subresource == 'ephemeralcontainers':
                # Real (kubectl debug): only spec.ephemeralContainers changes, and existing ones may not be changed or removed.
                new = copy.deepcopy(old)
                wanted = (body.get('spec') or {}).get('ephemeralContainers') or []
                before = old['spec'].get('ephemeralContainers') or []
                if wanted[:len(before)] != before:
                    self._invalid(res, name, [field_error('FieldValueForbidden', 'spec.ephemeralContainers',
                                                          'existing ephemeral containers may not be changed')])
                for container in wanted:
                    strategies.apply_container_defaults(container)
                new['spec']['ephemeralContainers'] = wanted
                if self._same(new, old):
                    return 200, old
                return 200, self.store.put(res.name, new)
            else:
                new = strategies.copy_status_for_update(res, body, old, subresource)
                if subresource != 'status':
                    strategies.apply_defaults(res, new)
            ext = EXTENSIONS.get(res.name)
            if ext and subresource != 'status':
                ext.apply_defaults(res, new)
                ext.prepare_update(res, new, old, self.store)
            causes = strategies.validate(res, new) + strategies.validate_update(res, new, old, self.store)
            if ext:
                causes += ext.validate(res, new) + ext.validate_update(res, new, old, self.store)
            added = set(new['metadata'].get('finalizers') or []) - set(old['metadata'].get('finalizers') or [])
            if old['metadata'].get('deletionTimestamp') and added:
                causes.append(field_error('FieldValueForbidden', 'metadata.finalizers', 'no new finalizers can be added if the object is being deleted'))
            self._invalid(res, name, causes)
            if self._same(new, old):
                return 200, old  # Real: a no-op update writes nothing and keeps the resourceVersion.
            self._track(new, self._manager(params, user_agent), operation, res, subresource if subresource == 'status' else '')
            if params.get('dryRun'):
                return 200, new
            stored = self.store.put(res.name, new)
            if self._finalized(res, stored):
                return 200, self.store.remove(res.name, stored)
            return 200, stored

    @staticmethod
    def _same(new, old):
        strip = [copy.deepcopy(new), copy.deepcopy(old)]
        for obj in strip:
            obj['metadata'].pop('resourceVersion', None)
            obj['metadata'].pop('managedFields', None)
        return strip[0] == strip[1]

    @staticmethod
    def _finalized(res, obj):
        """An object being deleted goes away once its last finalizer is removed (pods wait for the kubelet, namespaces for
        their controller)."""
        meta = obj['metadata']
        if not meta.get('deletionTimestamp') or meta.get('finalizers'):
            return False
        if res.name == 'namespaces':
            return not obj['spec'].get('finalizers')
        if res.name == 'pods':
            return not obj['spec'].get('nodeName') or obj['status'].get('phase') in TERMINAL_POD_PHASES
        return True

    def patch(self, res, namespace, name, body, content_type, params, subresource='', user_agent=None):
        """PATCH with merge, strategic-merge, JSON patch or apply (create-if-missing for apply)."""
        media = (content_type or '').split(';')[0].strip().lower()
        apply = media == 'application/apply-patch+yaml'
        if apply and not params.get('fieldManager'):
            raise errors.ApiError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
                                  {'group': 'meta.k8s.io', 'kind': 'PatchOptions',
                                   'causes': [field_error('FieldValueRequired', 'fieldManager', 'is required for apply patch')]})
        with self.store.lock:
            current = self.store.get(res.name, namespace if res.namespaced else '', name)
            if current is None:
                if apply and not subresource:
                    created = copy.deepcopy(body) if isinstance(body, dict) else body
                    if isinstance(created, dict):
                        created.setdefault('metadata', {})['name'] = name
                    return self.create(res, namespace, created, params, user_agent, operation='Apply')
                raise errors.not_found(res.name, name, res.group)
            patched = patch.apply(current, body, media)
            if not isinstance(patched, dict):
                raise errors.bad_request('the patch did not produce an object')
            patched.setdefault('metadata', {})
            patched_rv = patched['metadata'].get('resourceVersion')
            if patched_rv != current['metadata']['resourceVersion']:
                # A resourceVersion inside the patch is an optimistic-concurrency precondition.
                raise errors.conflict(res.name, name, res.group)
            return self.update(res, namespace, name, patched, params, subresource, user_agent, 'Apply' if apply else 'Update')

    # ------------------------------------------------------------ delete
    def delete(self, res, namespace, name, params, options=None):
        """DELETE: objects with finalizers (and running pods, namespaces) get a deletionTimestamp; the rest go at once.

        Returns (200, object) in both cases, like the real server for these kinds.
        Real propagationPolicy: Background (the default here) deletes the object now and the garbage collector deletes its
        dependents afterwards; Orphan adds the ``orphan`` finalizer, the garbage collector strips the ownerReferences from
        the dependents, then removes the finalizer. Foreground is treated like Background (emulator simplification: the real
        server keeps the owner, with a ``foregroundDeletion`` finalizer, until blocking dependents are gone).
        """
        options = options if isinstance(options, dict) else {}
        with self.store.lock:
            obj = self._existing(res, namespace, name)
            meta = obj['metadata']
            pre = options.get('preconditions') or {}
            if pre.get('uid') and pre['uid'] != meta['uid']:
                raise errors.ApiError(409, 'Conflict', f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {meta['uid']}",
                                      {'name': name, 'kind': res.name})
            if pre.get('resourceVersion') and pre['resourceVersion'] != meta['resourceVersion']:
                raise errors.ApiError(409, 'Conflict', f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                                      f"ResourceVersion in object meta: {meta['resourceVersion']}", {'name': name, 'kind': res.name})
            if res.name == 'namespaces' and name in PROTECTED_NAMESPACES:
                raise errors.forbidden('namespaces', name, 'this namespace may not be deleted')
            grace = params.get('gracePeriodSeconds', options.get('gracePeriodSeconds'))
            grace = int(grace) if grace not in (None, '') else None
            dry = params.get('dryRun') or options.get('dryRun')
            policy = params.get('propagationPolicy') or options.get('propagationPolicy')
            if policy not in (None, '', 'Orphan', 'Background', 'Foreground'):
                raise errors.invalid('DeleteOptions', '', [field_error('FieldValueNotSupported', 'propagationPolicy',
                                                                       'supported values: "Foreground", "Background", "Orphan", "nil"', policy)],
                                     'meta.k8s.io')
            orphan = options.get('orphanDependents', params.get('orphanDependents') in ('true', True))
            if (policy == 'Orphan' or (not policy and orphan is True)) and ORPHAN_FINALIZER not in (meta.get('finalizers') or []):
                if meta.get('deletionTimestamp'):
                    return 200, obj
                meta['finalizers'] = (meta.get('finalizers') or []) + [ORPHAN_FINALIZER]
            graceful = self._graceful(res, obj, grace)
            if not graceful and not meta.get('finalizers'):
                if dry:
                    return 200, obj
                return 200, self.store.remove(res.name, obj)
            if meta.get('deletionTimestamp'):
                if res.name == 'pods' and grace == 0 and not meta.get('finalizers'):
                    return 200, obj if dry else self.store.remove(res.name, obj)
                return 200, obj
            if res.name == 'pods' and graceful:
                seconds = grace if grace is not None else obj['spec'].get('terminationGracePeriodSeconds', 30)
                meta['deletionTimestamp'] = util.later(seconds)
                meta['deletionGracePeriodSeconds'] = seconds
            else:
                meta['deletionTimestamp'] = util.now()
                meta['deletionGracePeriodSeconds'] = 0
            if res.name == 'namespaces':
                obj['status']['phase'] = 'Terminating'
            if dry:
                return 200, obj
            return 200, self.store.put(res.name, obj)

    @staticmethod
    def _graceful(res, obj, grace):
        if res.name == 'namespaces':
            return True  # spec.finalizers ["kubernetes"]: the namespace controller empties it first
        if res.name != 'pods' or grace == 0:
            return False
        # Real: unscheduled or terminated pods are deleted immediately; scheduled ones wait for the kubelet.
        return bool(obj['spec'].get('nodeName')) and obj['status'].get('phase') not in TERMINAL_POD_PHASES

    def delete_collection(self, res, namespace, params, options=None):
        """DELETE on a collection (deletecollection verb): returns the list of affected objects."""
        listed = self.list(res, namespace, params)
        items = []
        for item in listed['items']:
            try:
                items.append(strip_for_list(self.delete(res, item['metadata'].get('namespace', ''), item['metadata']['name'], params, options)[1]))
            except errors.ApiError as exc:
                if exc.code != 404:
                    raise
        return {'kind': res.list_kind, 'apiVersion': res.api_version, 'metadata': {'resourceVersion': str(self.store.rv)}, 'items': items}
