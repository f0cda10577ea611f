"""Small helpers: timestamps, random names, uids, resource quantities."""

import datetime
import random
import re
import uuid
from fractions import Fraction

# Real: generateName suffixes use utilrand.String(5) over "bcdfghjklmnpqrstvwxz2456789" (no vowels, no 0/1/3).
_SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'


def now():
    """RFC 3339 timestamp with second precision, as metav1.Time serialises."""
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def later(seconds):
    """Timestamp ``seconds`` from now."""
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def parse_time(value):
    """Parse an RFC 3339 timestamp to an aware datetime (None if unparsable)."""
    try:
        return datetime.datetime.strptime(value, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def new_uid():
    """A random UUID string (metadata.uid)."""
    return str(uuid.uuid4())


def random_suffix(length=5):
    """A generateName suffix."""
    return ''.join(random.choice(_SUFFIX_ALPHABET) for _ in range(length))


def random_hex(length):
    """Lower-case hex string."""
    return ''.join(random.choice('0123456789abcdef') for _ in range(length))


_BINARY = {'Ki': 2 ** 10, 'Mi': 2 ** 20, 'Gi': 2 ** 30, 'Ti': 2 ** 40, 'Pi': 2 ** 50, 'Ei': 2 ** 60}
_DECIMAL = {'n': Fraction(1, 10 ** 9), 'u': Fraction(1, 10 ** 6), 'm': Fraction(1, 1000), '': 1, 'k': 10 ** 3, 'M': 10 ** 6,
            'G': 10 ** 9, 'T': 10 ** 12, 'P': 10 ** 15, 'E': 10 ** 18}
_QUANTITY = re.compile(r'^([+-]?[0-9.]+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$')


def parse_quantity(value):
    """Parse a resource.Quantity (``1Gi``, ``500M``, ``1.5Gi``, ``1e9``, ``100m``) to (Fraction, format) or raise ValueError."""
    if isinstance(value, (int, float)):
        return Fraction(value), 'DecimalSI'
    match = _QUANTITY.match(str(value).strip())
    if not match or match.group(1) in ('.', '+', '-', ''):
        raise ValueError(f'quantities must match the regular expression {_QUANTITY.pattern!r}')
    number, suffix = Fraction(match.group(1)), match.group(2) or ''
    if suffix in _BINARY:
        return number * _BINARY[suffix], 'BinarySI'
    if suffix[:1] in ('e', 'E'):
        return number * Fraction(10) ** int(suffix[1:]), 'DecimalExponent'
    return number * _DECIMAL[suffix], 'DecimalSI'


def canonical_quantity(value):
    """Canonical form the apiserver stores (``1024Mi`` -> ``1Gi``, ``1000M`` -> ``1G``); non-integers are kept as given."""
    try:
        amount, fmt = parse_quantity(value)
    except ValueError:
        return value
    if amount.denominator != 1 or amount < 0:
        return value
    amount = int(amount)
    if fmt == 'BinarySI':
        for suffix, size in sorted(_BINARY.items(), key=lambda item: -item[1]):
            if amount % size == 0 and amount >= size:
                return f'{amount // size}{suffix}'
        # Real: a binary quantity below 1Ki that is not a multiple of 1024 prints as a plain decimal.
        return str(amount)
    for suffix, size in (('E', 10 ** 18), ('P', 10 ** 15), ('T', 10 ** 12), ('G', 10 ** 9), ('M', 10 ** 6), ('k', 10 ** 3)):
        if amount % size == 0 and amount >= size:
            return f'{amount // size}{suffix}'
    return str(amount)


_DNS1123_LABEL = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')
_DNS1123_SUBDOMAIN = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')


def dns1123_subdomain_errors(value):
    """Messages of IsDNS1123Subdomain (empty when valid)."""
    errors = []
    if len(value) > 253:
        errors.append('must be no more than 253 characters')
    if not _DNS1123_SUBDOMAIN.match(value):
        errors.append("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and "
                      "end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
                      "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    return errors


def dns1123_label_errors(value):
    """Messages of IsDNS1123Label (empty when valid)."""
    errors = []
    if len(value) > 63:
        errors.append('must be no more than 63 characters')
    if not _DNS1123_LABEL.match(value):
        errors.append("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with "
                      "an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
    return errors
