"""``pods/exec``: the refusals of kube-apiserver and the kubelet, the WebSocket channel protocol, and a tiny command model.

Real path: kube-apiserver validates the request (pod, container, host), then its upgrade-aware proxy hands the
connection to the kubelet, which finds the running container and streams the process over WebSocket
(``v5.channel.k8s.io`` / ``v4.channel.k8s.io``): every binary frame starts with a channel byte (1 stdout, 2 stderr,
3 error); channel 3 carries one ``metav1.Status`` when the process ends, then the server closes the connection.

There are no containers here, so commands run in a small interpreter (``CommandModel``); every exec is recorded in
``ExecLog`` (``GET /emulator/exec-log``).
"""

import base64
import hashlib
import json
import shlex
import struct
import threading
import time
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

from . import errors

WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
# Real (kubelet remotecommand): the protocols it accepts, newest first; the client offers v5 and v4.
PROTOCOLS = ('v5.channel.k8s.io', 'v4.channel.k8s.io')
STDOUT, STDERR, ERROR = 1, 2, 3
OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x2, 0x8, 0x9, 0xA
LOG_LIMIT = 1000
PATH_PREFIXES = ('/usr/local/sbin/', '/usr/local/bin/', '/usr/sbin/', '/usr/bin/', '/sbin/', '/bin/')


def _stamp():
    return datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


class ExecLog:
    """Every exec (pod, container, command, exit code, start and end) and the fsfreeze state per container path."""

    def __init__(self):
        self.lock = threading.Lock()
        self.entries = []
        self.frozen = {}  # (namespace, pod, container, path) -> time frozen

    def reset(self):
        """Forget everything (``POST /emulator/reset``)."""
        with self.lock:
            self.entries.clear()
            self.frozen.clear()

    def add(self, entry):
        """Record one exec (the oldest entries beyond LOG_LIMIT are dropped)."""
        with self.lock:
            self.entries.append(entry)
            del self.entries[:-LOG_LIMIT]

    def view(self, namespace=None, pod=None):
        """``GET /emulator/exec-log[?namespace=&pod=]``."""
        def wanted(ns, name):
            return (not namespace or ns == namespace) and (not pod or name == pod)
        with self.lock:
            return {'execs': [dict(e) for e in self.entries if wanted(e['namespace'], e['pod'])],
                    'frozen': [{'namespace': k[0], 'pod': k[1], 'container': k[2], 'path': k[3], 'since': v}
                               for k, v in sorted(self.frozen.items()) if wanted(k[0], k[1])]}


class CommandModel:
    """The commands the emulated containers know; anything else is not in ``$PATH``.

    ``true``, ``false``, ``echo ARGS``, ``sleep N`` (ends early when the client goes away), ``fsfreeze --freeze|-f
    PATH`` / ``--unfreeze|-u PATH`` (state per pod, container and path), ``sh -c SCRIPT`` (also ``bash``; the
    script is simple commands joined by ``;`` or ``&&``, ``exit N``, a trailing ``>&2`` sends a command's output to
    stderr). Paths such as ``/bin/true`` work. ``run`` returns (exit code or None, error Status or None).
    """

    def __init__(self, log, key, out, err, gone):
        self.log, self.key, self.out, self.err, self.gone = log, key, out, err, gone

    def run(self, argv):
        """Run a top-level command (what the container runtime would exec)."""
        name = self._name(argv[0])
        if name not in self.BUILTINS and name not in ('sh', 'bash'):
            # Real (containerd + runc): the exec cannot start; the kubelet sends a Failure Status without an exit code.
            return None, {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure', 'reason': 'InternalError',
                          'code': 500, 'message': (
                              'Internal error occurred: error executing command in container: failed to exec in container: '
                              f'failed to start exec "{self.key[4]}": OCI runtime exec failed: exec failed: unable to start '
                              f'container process: exec: "{argv[0]}": executable file not found in $PATH: unknown')}
        return self._simple(argv), None

    @staticmethod
    def _name(arg):
        for prefix in PATH_PREFIXES:
            if arg.startswith(prefix):
                return arg[len(prefix):]
        return arg

    def _simple(self, argv):
        name = self._name(argv[0])
        if name in ('sh', 'bash'):
            if len(argv) < 3 or argv[1] != '-c':
                self.err(f'{name}: the emulator runs only "{name} -c SCRIPT"\n')
                return 2
            return self._script(argv[2], name)
        handler = self.BUILTINS.get(name)
        if handler is None:
            # Real (dash): "sh: 1: foo: not found", exit status 127.
            self.err(f'sh: 1: {argv[0]}: not found\n')
            return 127
        return handler(self, argv[1:])

    def _script(self, script, shell):
        code = 0
        try:
            words = shlex.split(script.replace(';', ' ; ').replace('&&', ' && '), posix=True)
        except ValueError as exc:
            self.err(f'{shell}: 1: Syntax error: {exc}\n')
            return 2
        commands, current, joins = [], [], []
        for word in words:
            if word in (';', '&&'):
                commands.append(current)
                joins.append(word)
                current = []
            else:
                current.append(word)
        commands.append(current)
        joins.append(';')
        skip = False
        for argv, join in zip(commands, joins):
            if argv and not skip:
                if argv[0] == 'exit':
                    return int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else code
                to_stderr = argv[-1] in ('>&2', '1>&2')
                if to_stderr:
                    argv = argv[:-1]
                    saved, self.out = self.out, self.err
                try:
                    code = self._simple(argv)
                finally:
                    if to_stderr:
                        self.out = saved
            skip = join == '&&' and code != 0 and not skip or (skip and join == '&&')
        return code

    def _true(self, _args):
        return 0

    def _false(self, _args):
        return 1

    def _echo(self, args):
        self.out(' '.join(args) + '\n')
        return 0

    def _sleep(self, args):
        try:
            seconds = float(args[0])
        except (IndexError, ValueError):
            self.err('sleep: invalid time interval\n')
            return 1
        # Real: the process sleeps; when the client closes the stream the runtime may even keep it running.
        # The emulator stops it when the client goes away, so a timed-out hook does not hold a thread.
        return 0 if not self.gone.wait(seconds) else 137

    def _fsfreeze(self, args):
        # Real util-linux fsfreeze: FIFREEZE / FITHAW ioctls; freezing a frozen filesystem is EBUSY, thawing a thawed one EINVAL.
        if len(args) != 2 or args[0] not in ('--freeze', '-f', '--unfreeze', '-u') or not args[1].startswith('/'):
            self.err('fsfreeze: bad usage\nTry \'fsfreeze --help\' for more information.\n')
            return 1
        path = args[1]
        key = self.key[:3] + (path,)
        with self.log.lock:
            if args[0] in ('--freeze', '-f'):
                if key in self.log.frozen:
                    self.err(f'fsfreeze: {path}: freeze failed: Device or resource busy\n')
                    return 1
                self.log.frozen[key] = _stamp()
            else:
                if key not in self.log.frozen:
                    self.err(f'fsfreeze: {path}: unfreeze failed: Invalid argument\n')
                    return 1
                del self.log.frozen[key]
        return 0

    BUILTINS = {'true': _true, 'false': _false, 'echo': _echo, 'sleep': _sleep, 'fsfreeze': _fsfreeze}


def _frame(opcode, payload):
    head = bytes([0x80 | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([size])
    elif size < 65536:
        head += bytes([126]) + struct.pack('!H', size)
    else:
        head += bytes([127]) + struct.pack('!Q', size)
    return head + payload


def _read_frame(rfile):
    """One client frame (masked, as RFC 6455 requires of clients): (opcode, payload); (None, b'') at EOF."""
    head = rfile.read(2)
    if len(head) < 2:
        return None, b''
    opcode, size = head[0] & 0x0F, head[1] & 0x7F
    if size == 126:
        size = struct.unpack('!H', rfile.read(2))[0]
    elif size == 127:
        size = struct.unpack('!Q', rfile.read(8))[0]
    mask = rfile.read(4) if head[1] & 0x80 else b'\0\0\0\0'
    data = rfile.read(size)
    return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def _refuse_plain(handler, code, text):
    # Real: the kubelet answers a refused stream with a plain-text body; the apiserver's proxy passes it through.
    data = text.encode()
    handler.send_response(code)
    handler.send_header('Content-Type', 'text/plain; charset=utf-8')
    handler.send_header('Content-Length', str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def serve(handler, namespace, name):
    """GET/POST ``/api/v1/namespaces/{ns}/pods/{name}/exec?command=...&container=...&stdout=true&stderr=true``."""
    emu = handler.emulator
    query = parse_qs(urlsplit(handler.path).query, keep_blank_values=True)
    command = query.get('command') or []
    container = (query.get('container') or [''])[-1]
    pod = emu.store.get_raw('pods', namespace, name)
    if pod is None:
        raise errors.not_found('pods', name)
    containers = [c['name'] for c in pod['spec'].get('containers') or []]
    every = containers + [c['name'] for key in ('initContainers', 'ephemeralContainers') for c in pod['spec'].get(key) or []]
    # Real (pod strategy's streamLocation): container defaults to the only one, must be named among several, must exist.
    if not container:
        if len(containers) != 1:
            raise errors.bad_request(f'a container name must be specified for pod {name}, choose one of: [{" ".join(containers)}]')
        container = containers[0]
    elif container not in every:
        raise errors.bad_request(f'container {container} is not valid for pod {name}')
    if not pod['spec'].get('nodeName'):
        raise errors.bad_request(f'pod {name} does not have a host assigned')
    if not command:
        # Real (PodExecOptions validation): at least one command word.
        raise errors.bad_request('you must specify at least 1 command')
    if handler.headers.get('Upgrade', '').lower() != 'websocket' or 'upgrade' not in handler.headers.get('Connection', '').lower():
        # Real (UpgradeAwareHandler with UpgradeRequired): a plain request never reaches the kubelet.
        raise errors.bad_request('Upgrade request required')
    statuses = {s.get('name'): s for key in ('containerStatuses', 'initContainerStatuses', 'ephemeralContainerStatuses')
                for s in (pod.get('status') or {}).get(key) or []}
    running = 'running' in ((statuses.get(container) or {}).get('state') or {})
    if not running or (pod.get('status') or {}).get('phase') != 'Running':
        # Real (kubelet GetExec -> findContainer): no running container; a plain error -> 500 with the text, which
        # clients show as "unable to upgrade connection: container not found (...)".
        _refuse_plain(handler, 500, f'container not found ("{container}")')
        return
    offered = [p.strip() for p in handler.headers.get('Sec-WebSocket-Protocol', '').split(',') if p.strip()]
    chosen = next((p for p in PROTOCOLS if p in offered), None)
    if chosen is None:
        # Real (wsstream handshake): none of the offered protocols is supported.
        raise errors.bad_request(f'requested protocol(s) are not supported: {offered}; supports {list(PROTOCOLS)}')
    key = handler.headers.get('Sec-WebSocket-Key', '')
    accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    handler.send_response(101, 'Switching Protocols')
    handler.send_header('Upgrade', 'websocket')
    handler.send_header('Connection', 'Upgrade')
    handler.send_header('Sec-WebSocket-Accept', accept)
    handler.send_header('Sec-WebSocket-Protocol', chosen)
    handler.end_headers()
    handler.close_connection = True
    _stream(handler, emu, namespace, name, container, command)


def _stream(handler, emu, namespace, name, container, command):
    send_lock, gone = threading.Lock(), threading.Event()

    def send(opcode, payload):
        with send_lock:
            try:
                handler.wfile.write(_frame(opcode, payload))
                handler.wfile.flush()
            except OSError:
                gone.set()

    def reader():
        while True:
            try:
                opcode, payload = _read_frame(handler.rfile)
            except (OSError, ValueError, struct.error):
                opcode = None
            if opcode is None or opcode == OP_CLOSE:
                gone.set()
                return
            if opcode == OP_PING:
                send(OP_PONG, payload)

    threading.Thread(target=reader, name='k8s-emulator-exec-reader', daemon=True).start()
    exec_id = hashlib.sha256(f'{namespace}/{name}/{time.time_ns()}'.encode()).hexdigest()
    entry = {'namespace': namespace, 'pod': name, 'container': container, 'command': list(command), 'startedAt': _stamp()}
    model = CommandModel(emu.exec_log, (namespace, name, container, None, exec_id),
                         lambda text: send(OP_BINARY, bytes([STDOUT]) + text.encode()),
                         lambda text: send(OP_BINARY, bytes([STDERR]) + text.encode()), gone)
    code, failure = model.run(command)
    entry.update(finishedAt=_stamp(), exitCode=code)
    if gone.is_set():
        entry['state'] = 'client-closed'  # the client hung up (a timeout on its side) before the process ended
        emu.exec_log.add(entry)
    else:
        entry['state'] = 'exited' if failure is None else 'failed-to-start'
        emu.exec_log.add(entry)  # before the client learns the end: whoever reads the log after it sees the entry
        if failure is None and code == 0:
            status = {'metadata': {}, 'status': 'Success'}
        elif failure is None:
            # Real (kubelet remotecommand): a non-zero exit is a Failure with reason NonZeroExitCode and an ExitCode cause.
            status = {'metadata': {}, 'status': 'Failure', 'message': f'command terminated with non-zero exit code: error executing '
                      f'command [{" ".join(command)}], exit code {code}', 'reason': 'NonZeroExitCode',
                      'details': {'causes': [{'reason': 'ExitCode', 'message': str(code)}]}}
        else:
            status = failure
        send(OP_BINARY, bytes([ERROR]) + json.dumps(status).encode())
        send(OP_CLOSE, struct.pack('!H', 1000))
        gone.wait(1.0)  # the client answers the close frame
