"""Label and field selectors (k8s.io/apimachinery/pkg/labels and pkg/fields), parsed once and matched against objects."""

import re

from . import errors

_SET_OP = re.compile(r'^\s*(!?)\s*([A-Za-z0-9_./-]+)\s+(in|notin)\s*\((.*)\)\s*$')
_EQ_OP = re.compile(r'^\s*([A-Za-z0-9_./-]+)\s*(==|!=|=)\s*([A-Za-z0-9_.-]*)\s*$')
_EXISTS = re.compile(r'^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*$')


def _split_top_level(text):
    """Split on commas that are not inside parentheses (``a in (x,y),b``)."""
    parts, depth, current = [], 0, ''
    for char in text:
        if char == '(':
            depth += 1
        elif char == ')':
            depth -= 1
        if char == ',' and depth == 0:
            parts.append(current)
            current = ''
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p.strip()]


def parse_label_selector(text):
    """Parse ``labelSelector``: ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a)``, ``k`` and ``!k``. Bad input -> 400."""
    requirements = []
    for part in _split_top_level(text or ''):
        match = _SET_OP.match(part)
        if match and not match.group(1):
            values = {v.strip() for v in match.group(4).split(',') if v.strip()}
            requirements.append((match.group(2), match.group(3), values))
            continue
        match = _EQ_OP.match(part)
        if match:
            operator = '!=' if match.group(2) == '!=' else '='
            requirements.append((match.group(1), operator, {match.group(3)}))
            continue
        match = _EXISTS.match(part)
        if match:
            requirements.append((match.group(2), '!exists' if match.group(1) else 'exists', set()))
            continue
        # Real message from labels.Parse.
        raise errors.bad_request(f'unable to parse requirement: found \'{part.strip()}\', expected: identifier or operator')
    return requirements


def labels_match(requirements, labels):
    """True if the label map satisfies every requirement (``!=``/``notin`` also match when the key is absent)."""
    labels = labels or {}
    for key, operator, values in requirements:
        present = key in labels
        if operator == '=' and not (present and labels[key] in values):
            return False
        if operator == '!=' and present and labels[key] in values:
            return False
        if operator == 'in' and not (present and labels[key] in values):
            return False
        if operator == 'notin' and present and labels[key] in values:
            return False
        if operator == 'exists' and not present:
            return False
        if operator == '!exists' and present:
            return False
    return True


def parse_field_selector(text, resource):
    """Parse ``fieldSelector`` (``=``, ``==``, ``!=``); only the resource's supported field labels are accepted."""
    requirements = []
    for part in (text or '').split(','):
        if not part.strip():
            continue
        match = re.match(r'^\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*$', part)
        if not match:
            raise errors.bad_request(f'invalid selector: \'{part}\'; can\'t understand \'{part}\'')
        key, operator, value = match.groups()
        if key not in resource.field_selectors:
            # Real: the conversion func rejects unknown labels with this message (400 BadRequest).
            raise errors.bad_request(f'field label not supported: {key}')
        requirements.append((key, operator != '!=', value))
    return requirements


def field_value(obj, path):
    """Value of a dotted field path as a string ('' when absent; booleans as ``true``/``false``)."""
    current = obj
    for part in path.split('.'):
        if not isinstance(current, dict):
            return ''
        current = current.get(part)
    if isinstance(current, bool):
        return 'true' if current else 'false'
    if isinstance(current, dict):
        # involvedObject/source: the real server indexes "source" as the component name.
        return current.get('component', '')
    return '' if current is None else str(current)


def fields_match(requirements, obj):
    """True if the object satisfies every field requirement."""
    for key, equal, value in requirements:
        if (field_value(obj, key) == value) != equal:
            return False
    return True


class Selector:
    """Combined label + field selector for list, watch and deletecollection."""

    def __init__(self, resource, label_selector=None, field_selector=None):
        self.labels = parse_label_selector(label_selector)
        self.fields = parse_field_selector(field_selector, resource)

    def matches(self, obj):
        """True if the object matches both selectors."""
        return labels_match(self.labels, obj.get('metadata', {}).get('labels')) and fields_match(self.fields, obj)


def _requirements(selector):
    """metav1.LabelSelector -> requirements (matchLabels and matchExpressions In/NotIn/Exists/DoesNotExist)."""
    selector = selector or {}
    reqs = [(k, '=', {v}) for k, v in sorted((selector.get('matchLabels') or {}).items())]
    ops = {'In': 'in', 'NotIn': 'notin', 'Exists': 'exists', 'DoesNotExist': '!exists'}
    for expr in selector.get('matchExpressions') or []:
        reqs.append((expr.get('key'), ops.get(expr.get('operator'), 'in'), set(expr.get('values') or [])))
    return reqs


def selector_matches(selector, labels):
    """Real metav1.LabelSelectorAsSelector: an empty selector matches everything, a nil one nothing (callers check nil)."""
    return labels_match(_requirements(selector), labels)


def selector_string(selector):
    """The selector as a labelSelector string (``app=web,tier in (a,b)``), as Scale.status.selector shows it."""
    parts = []
    for key, operator, values in _requirements(selector):
        if operator == '=':
            parts.append(f'{key}={next(iter(values))}')
        elif operator in ('in', 'notin'):
            parts.append(f"{key} {operator} ({','.join(sorted(values))})")
        else:
            parts.append(key if operator == 'exists' else f'!{key}')
    return ','.join(parts)
