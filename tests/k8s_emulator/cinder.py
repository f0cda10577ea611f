"""A tiny Cinder client (standard library only) so that emulated attach/detach happens in the real local Cinder.

Real: the Cinder CSI controller plugin (external-attacher) attaches a volume to the node's Nova server when a
VolumeAttachment is created and detaches it when the VolumeAttachment is deleted; while attached the Cinder volume
is ``in-use`` and Cinder refuses to delete it (400). The emulator does the same through the volume actions
``os-reserve`` + ``os-attach`` and ``os-detach``, as the project's admin from a clouds.yaml. The attachment names
the node as its ``host_name`` (no Nova server: Cinder lets only Nova detach what a Nova instance uses).
"""

import json
import logging
import time
import urllib.error
import urllib.request

LOG = logging.getLogger('k8s_emulator')
TIMEOUT = 15  # seconds, every HTTP request
SETTLE = 30   # seconds to wait for attaching/detaching to settle


class CinderError(Exception):
    """Cinder refused or failed; the message is the service's own."""




def load_cloud(clouds_yaml, cloud):
    """The ``auth`` dict of ``cloud`` from a clouds.yaml (PyYAML when available, else JSON)."""
    with open(clouds_yaml, encoding='utf-8') as handle:
        text = handle.read()
    try:
        import yaml  # pylint: disable=import-outside-toplevel
        data = yaml.safe_load(text)
    except ImportError:
        data = json.loads(text)
    entry = (data.get('clouds') or {}).get(cloud)
    if not entry:
        raise CinderError(f'cloud {cloud} not found in {clouds_yaml}')
    return entry


class Cinder:
    """Keystone password auth + the few Cinder volume actions attach/detach need."""

    def __init__(self, clouds_yaml, cloud):
        self.clouds_yaml, self.cloud = clouds_yaml, cloud
        self.token, self.endpoint, self.expires = None, None, 0.0

    def _http(self, method, url, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers=dict(
            {'Content-Type': 'application/json', 'Accept': 'application/json', 'Connection': 'close'}, **(headers or {})))
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                raw = response.read()
                return response.status, (json.loads(raw) if raw else {}), response.headers
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw), exc.headers
            except ValueError:
                return exc.code, {'message': raw.decode(errors='replace')}, exc.headers

    def _login(self):
        entry = load_cloud(self.clouds_yaml, self.cloud)
        auth = entry['auth']
        body = {'auth': {'identity': {'methods': ['password'], 'password': {'user': {
            'name': auth['username'], 'password': auth['password'], 'domain': {'name': auth.get('user_domain_name', 'Default')}}}},
            'scope': {'project': {'name': auth['project_name'], 'domain': {'name': auth.get('project_domain_name', 'Default')}}}}}
        code, doc, headers = self._http('POST', auth['auth_url'].rstrip('/') + '/auth/tokens', body)
        if code != 201:
            raise CinderError(f'keystone refused the emulator\'s login ({code}): {doc}')
        self.token = headers['X-Subject-Token']
        self.expires = time.monotonic() + 1800
        interface = entry.get('interface', 'public')
        for service in doc['token'].get('catalog') or []:
            if service['type'] in ('block-storage', 'volumev3'):
                self.endpoint = next(e['url'] for e in service['endpoints'] if e['interface'] == interface)
                return
        raise CinderError('no block-storage endpoint in the catalog')

    def _call(self, method, path, body=None):
        if not self.token or time.monotonic() > self.expires:
            self._login()
        code, doc, _headers = self._http(method, self.endpoint.rstrip('/') + path, body, {'X-Auth-Token': self.token})
        if code == 401:
            self._login()
            code, doc, _headers = self._http(method, self.endpoint.rstrip('/') + path, body, {'X-Auth-Token': self.token})
        return code, doc

    @staticmethod
    def _message(doc):
        if isinstance(doc, dict):
            for value in doc.values():
                if isinstance(value, dict) and value.get('message'):
                    return value['message']
            return doc.get('message') or json.dumps(doc)
        return str(doc)

    def volume(self, volume_id):
        """The volume dict, or None when Cinder has no such volume."""
        code, doc = self._call('GET', f'/volumes/{volume_id}')
        if code == 404:
            return None
        if code != 200:
            raise CinderError(f'GET volume {volume_id} ({code}): {self._message(doc)}')
        return doc['volume']

    def _settle(self, volume_id, transient):
        deadline = time.monotonic() + SETTLE
        while True:
            volume = self.volume(volume_id)
            if volume is None or volume['status'] not in transient or time.monotonic() > deadline:
                return volume
            time.sleep(0.3)

    def attach(self, volume_id, node):
        """Attach (reserve + attach) to ``node`` unless already; raises CinderError with Cinder's reason."""
        volume = self._settle(volume_id, ('attaching', 'detaching', 'reserved', 'creating'))
        if volume is None:
            raise CinderError(f'volume {volume_id} could not be found')
        if any(a.get('host_name') == node for a in volume.get('attachments') or []):
            return volume
        code, doc = self._call('POST', f'/volumes/{volume_id}/action', {'os-reserve': None})
        if code not in (200, 202):
            raise CinderError(f'cannot reserve volume {volume_id} ({code}): {self._message(doc)}')
        code, doc = self._call('POST', f'/volumes/{volume_id}/action',
                               {'os-attach': {'host_name': node, 'mountpoint': '/dev/vdb', 'mode': 'rw'}})
        if code not in (200, 202):
            self._call('POST', f'/volumes/{volume_id}/action', {'os-unreserve': None})
            raise CinderError(f'cannot attach volume {volume_id} ({code}): {self._message(doc)}')
        volume = self._settle(volume_id, ('attaching', 'reserved'))
        if volume is None or volume['status'] != 'in-use':
            raise CinderError(f'volume {volume_id} is {volume and volume["status"]} after attach')
        return volume

    def detach(self, volume_id, node):
        """Detach from ``node``; a volume already gone or not attached there is fine."""
        volume = self._settle(volume_id, ('attaching', 'detaching', 'reserved'))
        if volume is None:
            return None
        for attachment in volume.get('attachments') or []:
            if attachment.get('host_name') != node:
                continue
            code, doc = self._call('POST', f'/volumes/{volume_id}/action',
                                   {'os-detach': {'attachment_id': attachment['attachment_id']}})
            if code == 404:
                return None
            if code not in (200, 202):
                raise CinderError(f'cannot detach volume {volume_id} ({code}): {self._message(doc)}')
        return self._settle(volume_id, ('detaching',))
