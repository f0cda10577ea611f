# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Up-front checks of user input; every refusal names the option and says why.

The services accept some inputs that hurt later (Cinder stores an empty
snapshot name and strips padded ones, so a padded name adds a snapshot on every
run; a 4-byte UTF-8 character is an HTTP 500 on databases that store names as
3-byte utf8; an empty selector would select every resource). They are refused
here, before anything is created.
"""

from __future__ import annotations

import re
import unicodedata

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError

# Cinder, Manila and Freezer store names, metadata keys and values in 255-character columns.
MAX_NAME_LENGTH = 255
# The one explicit "every resource of the project" selector.
SELECT_ALL_QUERY = '[*]'


class InputError(ProtectionError):
    """An option value refused before any API call."""


def _text_problem(value):
    """Why ``value`` cannot be an OpenStack name, metadata key or value; None when it can."""
    if len(value) > MAX_NAME_LENGTH:
        return 'is %d characters long; OpenStack allows at most %d' % (len(value), MAX_NAME_LENGTH)
    wide = sorted(set(c for c in value if ord(c) > 0xFFFF))
    if wide:
        return ('contains %s (outside the Basic Multilingual Plane, e.g. an emoji); services whose database stores '
                'text as 3-byte utf8 fail on it with HTTP 500' % ', '.join('U+%X' % ord(c) for c in wide))
    control = sorted(set(c for c in value if unicodedata.category(c) == 'Cc'))
    if control:
        return 'contains control characters (%s)' % ', '.join('U+%04X' % ord(c) for c in control)
    return None


def check_name(option, value):
    """A resource name or id given by the user: not empty, not padded, storable. None passes."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError('%s must be a string, got %s' % (option, type(value).__name__))
    if not value.strip():
        raise InputError('%s must not be empty or only whitespace (got %r)' % (option, value))
    if value != value.strip():
        raise InputError('%s %r has leading or trailing whitespace: OpenStack strips it from what it stores, so the '
                         'name never matches (a protection would create another snapshot on every run); remove the '
                         'spaces' % (option, value))
    problem = _text_problem(value)
    if problem:
        raise InputError('%s %r %s' % (option, value, problem))
    return value


def check_names(option, values):
    """A list selector of names or ids: not empty (an empty selector selects nothing), each a valid name."""
    if values is None:
        return None
    if not values:
        raise InputError('%s is empty: an empty selector selects nothing. List the resources, or select every '
                         'resource of the project explicitly with query: %r' % (option, SELECT_ALL_QUERY))
    for index, value in enumerate(values):
        check_name('%s[%d]' % (option, index), value)
    return values


def check_metadata(option, value, selector=False):
    """Metadata as OpenStack stores it: string keys and values; scalars become strings, nested values are refused.

    A selector (``selector=True``) must not be empty: ``{}`` would match every resource.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InputError('%s must be a dict, got %s' % (option, type(value).__name__))
    if selector and not value:
        raise InputError('%s is empty: an empty selector would match every resource of the project. Give at least '
                         'one key, or select every resource explicitly with query: %r' % (option, SELECT_ALL_QUERY))
    normalized = {}
    for key, item in value.items():
        key_text = str(key)
        if not key_text.strip():
            raise InputError('%s has an empty key' % option)
        problem = _text_problem(key_text)
        if problem:
            raise InputError('%s key %r %s' % (option, key_text, problem))
        if isinstance(item, bool):
            item = 'true' if item else 'false'
        elif isinstance(item, (int, float)):
            item = str(item)
        elif item is None:
            raise InputError('%s.%s has no value: OpenStack metadata values are strings' % (option, key_text))
        elif not isinstance(item, str):
            raise InputError('%s.%s must be a string, got a %s: OpenStack metadata cannot hold nested values'
                             % (option, key_text, 'dict' if isinstance(item, dict) else
                                'list' if isinstance(item, (list, tuple)) else type(item).__name__))
        problem = _text_problem(item)
        if problem:
            raise InputError('%s.%s value %s' % (option, key_text, problem))
        normalized[key_text] = item
    return normalized


def check_query(option, value):
    """A JMESPath selector: not empty."""
    if value is None:
        return None
    if not str(value).strip():
        raise InputError('%s is empty: an empty selector selects nothing. Write a JMESPath expression, or %r to '
                         'select every resource of the project' % (option, SELECT_ALL_QUERY))
    return value


def check_number(option, value, minimum=None, above=None, unit=''):
    """``value >= minimum`` or ``value > above``; None passes."""
    if value is None:
        return None
    suffix = ' %s' % unit if unit else ''
    if minimum is not None and value < minimum:
        raise InputError('%s must be >= %s%s, got %s' % (option, minimum, suffix, value))
    if above is not None and value <= above:
        raise InputError('%s must be > %s%s, got %s' % (option, above, suffix, value))
    return value


def check_rotation(retain, min_age):
    """``retain`` (>= 1) turns rotation on; ``min_age`` (seconds, >= 0) only means something with it."""
    check_number('retain', retain, minimum=1)
    check_number('min_age', min_age, minimum=0, unit='seconds')
    if min_age is not None and retain is None:
        raise InputError('min_age applies to rotating protections: set retain as well')


def check_cloud(value):
    """``cloud``: a clouds.yaml name or a dict of the cloud's configuration."""
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, str):
        return check_name('cloud', value)
    raise InputError('cloud must be the name of a cloud in clouds.yaml (a string) or a dict with the cloud\'s '
                     'configuration, got a %s' % type(value).__name__)


# Kubernetes object names (k8s.io/apimachinery validation): namespaces are DNS-1123 labels, pods DNS-1123 subdomains.
DNS_LABEL_RE = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')
DNS_SUBDOMAIN_RE = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')
LABEL_RULE = 'lowercase letters, digits and -, starting and ending with a letter or digit'
SUBDOMAIN_RULE = 'lowercase letters, digits, - and ., starting and ending with a letter or digit'
# option -> (what, pattern, longest, rule)
K8S_NAMES = dict(
    pods=('pod', DNS_SUBDOMAIN_RE, 253, SUBDOMAIN_RULE),
    namespace=('namespace', DNS_LABEL_RE, 63, LABEL_RULE),
    restore_namespace=('namespace', DNS_LABEL_RE, 63, LABEL_RULE),
    namespace_map=('namespace', DNS_LABEL_RE, 63, LABEL_RULE),
    pod=('pod', DNS_SUBDOMAIN_RE, 253, SUBDOMAIN_RULE),
    restore_name=('pod', DNS_SUBDOMAIN_RE, 253, SUBDOMAIN_RULE),
)


def check_k8s_name(option, value):
    """A Kubernetes object name option: the generic name checks, then Kubernetes' own length and characters."""
    if value is None:
        return None
    what, pattern, longest, rule = K8S_NAMES[option]
    if isinstance(value, str) and value.strip() and value == value.strip() and len(value) > longest:
        raise InputError('%s %r is %d characters long; a Kubernetes %s name has at most %d'
                         % (option, value, len(value), what, longest))
    check_name(option, value)
    if not pattern.match(value):
        raise InputError('%s %r is not a valid Kubernetes %s name: use %s (at most %d characters)'
                         % (option, value, what, rule, longest))
    return value
