"""Kubernetes ``Status`` errors, shaped exactly like kube-apiserver's (k8s.io/apimachinery/pkg/api/errors)."""


class ApiError(Exception):
    """An error answered as a ``kind: Status`` body with the given HTTP code."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self):
        """Return the ``Status`` object (reason omitted when unknown, as the real server does)."""
        body = {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure', 'message': self.message}
        if self.reason:
            body['reason'] = self.reason
        if self.details is not None:
            body['details'] = self.details
        body['code'] = self.code
        return body


def _qualified(resource, group):
    return f'{resource}.{group}' if group else resource


def _details(name, kind, group, causes=None):
    details = {}
    if name:
        details['name'] = name
    if group:
        details['group'] = group
    details['kind'] = kind
    if causes:
        details['causes'] = causes
    return details


def not_found(resource, name, group=''):
    """404 NotFound: ``pods "x" not found`` (details.kind is the resource plural)."""
    return ApiError(404, 'NotFound', f'{_qualified(resource, group)} "{name}" not found', _details(name, resource, group))


def already_exists(resource, name, group=''):
    """409 AlreadyExists: ``pods "x" already exists``."""
    return ApiError(409, 'AlreadyExists', f'{_qualified(resource, group)} "{name}" already exists', _details(name, resource, group))


def conflict(resource, name, group=''):
    """409 Conflict on a stale resourceVersion (optimistic concurrency)."""
    msg = (f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": the object has been modified; '
           'please apply your changes to the latest version and try again')
    return ApiError(409, 'Conflict', msg, _details(name, resource, group))


def invalid(kind, name, causes, group=''):
    """422 Invalid: ``Pod "x" is invalid: <field>: <message>`` (details.kind is the Kind; causes list every error).

    ``causes`` is a list of (reason, field, message) as built by ``field_error``.
    """
    parts = [f"{c['field']}: {c['message']}" if c.get('field') else c['message'] for c in causes]
    joined = parts[0] if len(parts) == 1 else '[' + ', '.join(parts) + ']'
    qualified = f'{kind}.{group}' if group else kind
    return ApiError(422, 'Invalid', f'{qualified} "{name}" is invalid: {joined}', _details(name, kind, group, causes))


def field_error(reason, field, message, value=None):
    """One ``details.causes`` entry; ``reason`` is FieldValueInvalid, FieldValueRequired, FieldValueForbidden, ..."""
    prefix = {
        'FieldValueInvalid': 'Invalid value: ',
        'FieldValueRequired': 'Required value',
        'FieldValueForbidden': 'Forbidden',
        'FieldValueNotFound': 'Not found: ',
        'FieldValueNotSupported': 'Unsupported value: ',
        'FieldValueDuplicate': 'Duplicate value: ',
    }[reason]
    if reason in ('FieldValueRequired', 'FieldValueForbidden'):
        text = f'{prefix}: {message}' if message else prefix
    else:
        text = f'{prefix}{_go_quote(value)}' + (f': {message}' if message else '')
    return {'reason': reason, 'message': text, 'field': field}


def _go_quote(value):
    if isinstance(value, str):
        return '"' + value.replace('\\', '\\\\').replace('"', '\\"') + '"'
    return str(value)


def bad_request(message):
    """400 BadRequest."""
    return ApiError(400, 'BadRequest', message)


def forbidden(resource, name, message, group='', causes=None):
    """403 Forbidden: ``pods "x" is forbidden: <message>``."""
    return ApiError(403, 'Forbidden', f'{_qualified(resource, group)} "{name}" is forbidden: {message}', _details(name, resource, group, causes))


def method_not_allowed(message='the server does not allow this method on the requested resource'):
    """405 MethodNotAllowed."""
    return ApiError(405, 'MethodNotAllowed', message, {})


def unsupported_media(content_type):
    """415 UnsupportedMediaType for an unknown PATCH/POST content type."""
    return ApiError(415, 'UnsupportedMediaType',
                    f'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, '
                    f'application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json '
                    f'(got {content_type})', {})


def unauthorized():
    """401 Unauthorized (no or wrong bearer token)."""
    return ApiError(401, 'Unauthorized', 'Unauthorized')


def page_not_found():
    """404 for an unknown URL: the real server answers ``the server could not find the requested resource``."""
    return ApiError(404, 'NotFound', 'the server could not find the requested resource', {})


def internal(message):
    """500 from a plain Go error: reason is empty (StatusReasonUnknown), so it is omitted."""
    return ApiError(500, '', message)


def expired(message):
    """410 Expired (watch/list from a resourceVersion older than the event history)."""
    return ApiError(410, 'Expired', message)
