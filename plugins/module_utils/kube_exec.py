# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``pods/exec`` through the official client's ``kubernetes.stream.stream()`` (WebSocket, channel-prefixed frames).

``run()`` opens the stream on a KubeClient's ApiClient (so the same credentials, proxy and TLS settings), reads
stdout and stderr until the process ends or ``timeout`` seconds have passed, and reads the exit status from the
error channel (a ``metav1.Status``: Success, or Failure with reason NonZeroExitCode and an ExitCode cause; a
runtime that cannot start the command answers a Failure without exit code). Connecting (TCP, TLS, the WebSocket
handshake) is bounded by the client's request timeout (``api_timeout``); the stream library sets none itself.
A process still running at ``timeout`` is left by closing the stream (the API server then ends the session;
container runtimes may let the process run on).
"""

from __future__ import annotations

import json
import time

from ansible_collections.dataprotection.openstack.plugins.module_utils.kubernetes import (
    DEFAULT_API_TIMEOUT,
    KubernetesError,
)

try:
    import websocket
    from kubernetes.client.rest import ApiException
    from kubernetes.stream import stream
    HAS_STREAM = True
except ImportError:
    HAS_STREAM = False

STDOUT, STDERR, ERROR = 1, 2, 3
KEEP = 4096  # characters kept of each output stream (the rest is counted, not kept)


class _Capped:
    """The first ``limit`` characters of a stream, and how many more there were."""

    def __init__(self, limit):
        self.limit, self.text, self.dropped = limit, '', 0

    def add(self, data):
        if not data:
            return
        room = self.limit - len(self.text)
        self.text += data[:max(room, 0)]
        self.dropped += max(len(data) - max(room, 0), 0)


def _refusal(exc):
    """The API server's (or kubelet's) reason for a refused WebSocket handshake, from the exception stream() wraps."""
    cause = exc.__context__
    status = getattr(cause, 'status_code', None)
    body = getattr(cause, 'resp_body', None)
    message = None
    if body:
        text = body.decode('utf-8', 'replace') if isinstance(body, bytes) else str(body)
        try:
            message = json.loads(text).get('message')
        except (TypeError, ValueError, AttributeError):
            message = text.strip()  # the kubelet answers in plain text, e.g. container not found ("app")
    return status, message or getattr(exc, 'reason', None) or str(exc)


def run(kube, namespace, name, container, command, timeout, keep=KEEP):
    """Run ``command`` in the container; dict(exit_code, stdout, stderr, timed_out, error, seconds).

    ``exit_code`` is None when the process did not end in time (``timed_out``) or could not start (``error``
    holds the runtime's message). A refused request (pod gone or not running, unknown container) raises
    KubernetesError with the server's reason.
    """
    if not HAS_STREAM:
        raise KubernetesError('running hooks needs the kubernetes and websocket-client Python libraries')
    what = 'exec in container %s of pod %s/%s' % (container, namespace, name)
    connect_timeout = getattr(kube.client.rest_client.request, 'default_timeout', DEFAULT_API_TIMEOUT)
    started = time.monotonic()
    previous = websocket.getdefaulttimeout()
    websocket.setdefaulttimeout(connect_timeout)  # stream() gives the socket no timeout of its own
    try:
        ws = stream(kube.core.connect_get_namespaced_pod_exec, name, namespace, command=list(command),
                    container=container, stdin=False, stdout=True, stderr=True, tty=False, _preload_content=False,
                    _request_timeout=connect_timeout)
    except ApiException as exc:
        status, message = _refusal(exc)
        raise KubernetesError('%s: Kubernetes API answered %s: %s' % (what, status or 'nothing', message),
                              status=status)
    finally:
        websocket.setdefaulttimeout(previous)
    out, err = _Capped(keep), _Capped(keep)
    # the hook's timeout is the command's run time; connecting was bounded by api_timeout above (under load,
    # building the client and the handshake took 12 s of a 10 s hook timeout)
    deadline = time.monotonic() + timeout
    try:
        while ws.is_open():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            ws.update(timeout=min(remaining, 1.0))
            out.add(ws.read_channel(STDOUT))
            err.add(ws.read_channel(STDERR))
        timed_out = ws.is_open()
        status_text = ws.read_channel(ERROR) if not timed_out else ''
    except (OSError, websocket.WebSocketException) as exc:
        raise KubernetesError('%s: the stream broke: %s' % (what, exc))
    finally:
        ws.close(timeout=1)
    result = dict(exit_code=None, stdout=out.text, stderr=err.text, timed_out=timed_out, error=None,
                  seconds=round(time.monotonic() - started, 3), stdout_dropped=out.dropped, stderr_dropped=err.dropped)
    if timed_out:
        return result
    try:
        status = json.loads(status_text) if status_text else None
    except ValueError:
        status = None
    if not isinstance(status, dict):
        result['error'] = 'the stream ended without an exit status'
    elif status.get('status') == 'Success':
        result['exit_code'] = 0
    else:
        causes = (status.get('details') or {}).get('causes') or []
        codes = [c.get('message') for c in causes if c.get('reason') == 'ExitCode']
        if codes and str(codes[0]).lstrip('-').isdigit():
            result['exit_code'] = int(codes[0])
        else:
            result['error'] = status.get('message') or 'the command failed without an exit code'
    return result
