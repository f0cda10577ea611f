"""Defaulting, allocation and validation of ConfigMaps, Secrets, Services and Endpoints (core/v1), as kube-apiserver does."""

import base64
import binascii
import ipaddress
import random
import re

from . import errors
from .errors import field_error

RESOURCES = ('configmaps', 'secrets', 'services', 'endpoints')
SERVICE_CIDR = ipaddress.ip_network('10.96.0.0/12')  # Real: kube-apiserver --service-cluster-ip-range (kubeadm's default)
NODE_PORTS = (30000, 32767)                           # Real: --service-node-port-range default
IMMUTABLE_SET = 'field is immutable when `immutable` is set'
_CONFIG_KEY = re.compile(r'^[-._a-zA-Z0-9]+$')
_CONFIG_KEY_MSG = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  "
                   "or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")


def _go_strings(values):
    """Go's %#v of a []string, as the apiserver prints it in Invalid values."""
    return '[]string{' + ', '.join(f'"{v}"' for v in values) + '}'


def _raw_invalid(field, value_text, message):
    return {'reason': 'FieldValueInvalid', 'message': f'Invalid value: {value_text}: {message}', 'field': field}


def _base64_error(value):
    """Go's encoding/base64 StdEncoding CorruptInputError offset, or None when ``value`` decodes."""
    if not isinstance(value, str):
        return 0
    text = value.replace('\r', '').replace('\n', '')
    try:
        base64.b64decode(text, validate=True)
        return None
    except (binascii.Error, ValueError):
        pass
    alphabet = set('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=')
    for i, char in enumerate(text):
        if char not in alphabet:
            return i
    return len(text) - len(text) % 4 if len(text) % 4 else max(text.find('='), 0)


def _check_base64(kind, mapping):
    for value in (mapping or {}).values():
        offset = _base64_error(value)
        if offset is not None:
            # Real: []byte fields are base64 in JSON; a bad value fails decoding -> 400, not 422.
            raise errors.bad_request(f'{kind} in version "v1" cannot be handled as a {kind}: illegal base64 data at input byte {offset}')


# ---------------------------------------------------------------- defaulting (create and update)

def apply_defaults(res, obj):
    """SetDefaults_* and the v1 -> internal conversion (Secret stringData)."""
    if res.name == 'secrets':
        obj.setdefault('type', 'Opaque')  # Real: SetDefaults_Secret
        _check_base64('Secret', obj.get('data'))
        string_data = obj.pop('stringData', None) or {}
        if string_data:
            # Real (Convert_v1_Secret_To_core_Secret): stringData is merged into data (it wins) and never stored.
            data = obj.get('data') or {}
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            obj['data'] = data
    elif res.name == 'configmaps':
        _check_base64('ConfigMap', obj.get('binaryData'))
    elif res.name == 'services':
        _default_service(obj.setdefault('spec', {}))


def _default_service(spec):
    # Real SetDefaults_Service.
    spec.setdefault('type', 'ClusterIP')
    spec.setdefault('sessionAffinity', 'None')
    if spec['sessionAffinity'] == 'ClientIP':
        spec.setdefault('sessionAffinityConfig', {'clientIP': {'timeoutSeconds': 10800}})
    for port in spec.get('ports') or []:
        port.setdefault('protocol', 'TCP')
        if port.get('targetPort') in (None, 0, ''):
            port['targetPort'] = port.get('port')
    if spec['type'] in ('NodePort', 'LoadBalancer'):
        spec.setdefault('externalTrafficPolicy', 'Cluster')
    if spec['type'] == 'LoadBalancer':
        spec.setdefault('allocateLoadBalancerNodePorts', True)
    if spec['type'] != 'ExternalName':
        spec.setdefault('internalTrafficPolicy', 'Cluster')
    if 'clusterIP' in spec and 'clusterIPs' not in spec and spec['clusterIP'] not in ('', None):
        spec['clusterIPs'] = [spec['clusterIP']]  # Real: conversion keeps clusterIP and clusterIPs[0] in sync


# ---------------------------------------------------------------- Service IP and node port allocation

def _used_ips(store, exclude=None):
    used = set()
    for svc in store.list_raw('services'):
        if (svc['metadata']['namespace'], svc['metadata']['name']) != exclude:
            used.update(ip for ip in svc['spec'].get('clusterIPs') or [] if ip and ip != 'None')
    return used


def _used_ports(store, exclude=None):
    used = set()
    for svc in store.list_raw('services'):
        if (svc['metadata']['namespace'], svc['metadata']['name']) != exclude:
            used.update(p.get('nodePort') for p in svc['spec'].get('ports') or [] if p.get('nodePort'))
    return used


def _needs_node_ports(spec):
    return spec.get('type') == 'NodePort' or (spec.get('type') == 'LoadBalancer' and spec.get('allocateLoadBalancerNodePorts', True))


def allocate(obj, store, exclude=None):
    """Real: the Service REST storage (alloc.go) fills ipFamilies/ipFamilyPolicy, allocates clusterIPs and nodePorts."""
    spec, name = obj['spec'], obj['metadata'].get('name', '')
    if spec.get('type') == 'ExternalName':
        return
    ips = spec.get('clusterIPs') or ([spec['clusterIP']] if spec.get('clusterIP') else [])
    if ips and ips[0] == 'None':
        if spec.get('type') != 'ClusterIP':
            raise errors.invalid('Service', name, [field_error('FieldValueInvalid', 'spec.clusterIPs[0]',
                                                               f"may not be set to 'None' for {spec.get('type')} services", 'None')])
        # Real (initIPFamilyFields): headless + selectorless defaults to RequireDualStack and both families.
        selectorless = not spec.get('selector')
        spec.setdefault('ipFamilyPolicy', 'RequireDualStack' if selectorless else 'SingleStack')
        spec.setdefault('ipFamilies', ['IPv4', 'IPv6'] if spec['ipFamilyPolicy'] != 'SingleStack' else ['IPv4'])
        spec['clusterIP'], spec['clusterIPs'] = 'None', ['None']
    else:
        spec.setdefault('ipFamilyPolicy', 'SingleStack')
        spec.setdefault('ipFamilies', ['IPv4'])
        used = _used_ips(store, exclude)
        if ips and ips[0]:
            try:
                address = ipaddress.ip_address(ips[0])
            except ValueError:
                raise errors.invalid('Service', name, [field_error('FieldValueInvalid', 'spec.clusterIPs[0]',
                                                                   'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)', ips[0])]) from None
            problem = ('provided IP is already allocated' if ips[0] in used else '' if address in SERVICE_CIDR else
                       f'provided IP is not in the valid range. The range of valid IPs is {SERVICE_CIDR}')
            if problem:
                raise errors.invalid('Service', name, [_raw_invalid('spec.clusterIPs', _go_strings(ips),
                                                                    f'failed to allocate IP {ips[0]}: {problem}')])
        else:
            while True:  # Real: a random free address of the range (network and broadcast excluded)
                candidate = str(SERVICE_CIDR[random.randint(2, SERVICE_CIDR.num_addresses - 2)])
                if candidate not in used:
                    break
            ips = [candidate]
        spec['clusterIP'], spec['clusterIPs'] = ips[0], ips[:1]
    if _needs_node_ports(spec):
        used_ports, causes = _used_ports(store, exclude), []
        for i, port in enumerate(spec.get('ports') or []):
            wanted = port.get('nodePort')
            if wanted:
                problem = ('provided port is already allocated' if wanted in used_ports else '' if NODE_PORTS[0] <= wanted <= NODE_PORTS[1]
                           else f'provided port is not in the valid range. The range of valid ports is {NODE_PORTS[0]}-{NODE_PORTS[1]}')
                if problem:
                    causes.append(field_error('FieldValueInvalid', f'spec.ports[{i}].nodePort', problem, wanted))
            else:
                wanted = random.choice([p for p in range(NODE_PORTS[0], NODE_PORTS[1] + 1) if p not in used_ports])
                port['nodePort'] = wanted
            used_ports.add(wanted)
        if causes:
            raise errors.invalid('Service', name, causes)


# ---------------------------------------------------------------- admission / create

def admit_create(res, obj, store):
    """PrepareForCreate + the Service allocators."""
    if res.name == 'services':
        obj['status'] = {'loadBalancer': {}}
        causes = _validate_service(obj['spec'])
        if causes:
            raise errors.invalid('Service', obj['metadata'].get('name', ''), causes)
        allocate(obj, store)


# ---------------------------------------------------------------- validation

def _validate_keys(obj, field):
    causes = []
    for key in sorted(obj.get(field) or {}):
        if not _CONFIG_KEY.match(key) or key in ('.', '..') or len(key) > 253:
            causes.append(field_error('FieldValueInvalid', f'{field}[{key}]', _CONFIG_KEY_MSG, key))
    return causes


def _validate_service(spec):
    causes = []
    kind = spec.get('type')
    if kind not in ('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'):
        causes.append(field_error('FieldValueNotSupported', 'spec.type',
                                  'supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"', kind))
    ports = spec.get('ports') or []
    headless = spec.get('clusterIP') == 'None'
    if not ports and kind != 'ExternalName' and not headless:
        causes.append(field_error('FieldValueRequired', 'spec.ports', ''))
    for i, port in enumerate(ports):
        if len(ports) > 1 and not port.get('name'):
            causes.append(field_error('FieldValueRequired', f'spec.ports[{i}].name', ''))
        number = port.get('port')
        if not isinstance(number, int) or not 1 <= number <= 65535:
            causes.append(field_error('FieldValueInvalid', f'spec.ports[{i}].port', 'must be between 1 and 65535, inclusive', number))
        if port.get('nodePort') and kind == 'ClusterIP':
            causes.append(field_error('FieldValueForbidden', f'spec.ports[{i}].nodePort', "may not be used when `type` is 'ClusterIP'"))
    ips = spec.get('clusterIPs') or []
    if ips and spec.get('clusterIP') not in (None, '') and spec['clusterIP'] != ips[0]:
        causes.append(_raw_invalid('spec.clusterIPs', _go_strings(ips), 'element [0] must match clusterIP'))
    if kind == 'ExternalName' and not spec.get('externalName'):
        causes.append(field_error('FieldValueRequired', 'spec.externalName', ''))
    return causes


def validate(res, obj):
    """ValidateConfigMap / ValidateSecret / ValidateService (the parts restore code meets)."""
    causes = []
    if res.name in ('configmaps', 'secrets'):
        causes += _validate_keys(obj, 'data')
    if res.name == 'configmaps':
        causes += _validate_keys(obj, 'binaryData')
        for key in sorted(set(obj.get('data') or {}) & set(obj.get('binaryData') or {})):
            causes.append(field_error('FieldValueInvalid', f'data[{key}]', 'duplicate of key present in binaryData', key))
    elif res.name == 'secrets':
        data = obj.get('data') or {}
        required = {'kubernetes.io/tls': ('tls.crt', 'tls.key'), 'kubernetes.io/dockerconfigjson': ('.dockerconfigjson',),
                    'kubernetes.io/dockercfg': ('.dockercfg',), 'kubernetes.io/basic-auth': (),
                    'kubernetes.io/ssh-auth': ('ssh-privatekey',)}.get(obj.get('type'), ())
        causes += [field_error('FieldValueRequired', f'data[{key}]', '') for key in required if key not in data]
    elif res.name == 'services':
        causes += [c for c in _validate_service(obj.get('spec') or {}) if not c['field'].startswith('spec.clusterIPs')]
    return causes


def prepare_update(res, new, old, store):
    """Real Service REST update (patchAllocatedValues + normalizeClusterIPs): omitted clusterIP(s)/nodePorts keep the
    allocated values, so a PUT without them is fine; a changed ``clusterIP`` alone updates ``clusterIPs[0]``."""
    if res.name != 'services':
        return
    spec, old_spec = new['spec'], old['spec']
    if spec.get('type') != 'ExternalName' and old_spec.get('type') != 'ExternalName':
        if spec.get('clusterIP') in (None, ''):
            spec['clusterIP'] = old_spec.get('clusterIP')
        if not spec.get('clusterIPs'):
            spec['clusterIPs'] = list(old_spec.get('clusterIPs') or [])
        elif spec.get('clusterIP') != old_spec.get('clusterIP') and spec['clusterIPs'] == old_spec.get('clusterIPs'):
            spec['clusterIPs'] = [spec['clusterIP']] + spec['clusterIPs'][1:]
        for key in ('ipFamilies', 'ipFamilyPolicy'):
            if key not in spec and key in old_spec:
                spec[key] = old_spec[key]
    if _needs_node_ports(spec) and _needs_node_ports(old_spec):
        by_name = {p.get('name', ''): p.get('nodePort') for p in old_spec.get('ports') or []}
        taken = {p.get('nodePort') for p in spec.get('ports') or [] if p.get('nodePort')}
        for port in spec.get('ports') or []:
            if not port.get('nodePort') and by_name.get(port.get('name', '')) and by_name[port.get('name', '')] not in taken:
                port['nodePort'] = by_name[port.get('name', '')]
    if spec.get('clusterIPs') == old_spec.get('clusterIPs'):
        meta = new['metadata']
        allocate(new, store, exclude=(meta['namespace'], meta['name']))  # new node ports (e.g. ClusterIP -> NodePort)


def validate_update(res, new, old, store):  # pylint: disable=unused-argument
    """ValidateSecretUpdate / ValidateConfigMapUpdate / ValidateServiceUpdate immutability."""
    causes = []
    if res.name in ('secrets', 'configmaps') and old.get('immutable'):
        fields = ('data', 'immutable') if res.name == 'secrets' else ('data', 'binaryData', 'immutable')
        for key in fields:
            if (new.get(key) or None) != (old.get(key) or None):
                causes.append(field_error('FieldValueForbidden', key, IMMUTABLE_SET))
    if res.name == 'secrets' and new.get('type') != old.get('type'):
        causes.append(field_error('FieldValueInvalid', 'type', 'field is immutable', new.get('type')))
    if res.name == 'services':
        spec, old_spec = new['spec'], old['spec']
        external = 'ExternalName' in (spec.get('type'), old_spec.get('type'))
        headless = spec.get('clusterIP') == 'None' and old_spec.get('clusterIP') == 'None'
        new_ips, old_ips = spec.get('clusterIPs') or [], old_spec.get('clusterIPs') or []
        if not external and not headless and old_ips and new_ips[:1] != old_ips[:1]:
            # Real validateUpgradeDowngradeClusterIPs (1.20+; older servers said "spec.clusterIP: ... field is immutable").
            causes.append(_raw_invalid('spec.clusterIPs[0]', _go_strings(new_ips), 'may not change once set'))
    return causes
