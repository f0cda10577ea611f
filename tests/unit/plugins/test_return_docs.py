"""Every value a module returns is documented with a type and a sample (issue 13).

Each module's RETURN is read as YAML; every field, recursively through ``contains``, must have ``type`` and
``sample``, and every top-level field ``returned``.
"""
import ast
import os

import pytest
import yaml

MODULES_DIR = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'plugins', 'modules')
MODULES = sorted(name[:-3] for name in os.listdir(MODULES_DIR) if name.endswith('.py') and name != '__init__.py')


def return_doc(module):
    """The RETURN string of a module file, read without importing the module."""
    with open(os.path.join(MODULES_DIR, module + '.py'), encoding='utf-8') as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, 'id', None) for t in node.targets] == ['RETURN']:
            return yaml.safe_load(node.value.value)
    raise AssertionError('%s has no RETURN' % module)


def missing(fields, prefix='', top=True):
    """'path: key' for every documentation key a field lacks."""
    problems = []
    for name, doc in (fields or {}).items():
        path = prefix + name
        if not isinstance(doc, dict):
            problems.append('%s: not a mapping' % path)
            continue
        wanted = ('description', 'type', 'sample') + (('returned',) if top else ())
        problems.extend('%s: %s' % (path, key) for key in wanted if key not in doc)
        if 'contains' in doc:
            problems.extend(missing(doc['contains'], path + '.', top=False))
    return problems


def count_fields(fields):
    return sum(1 + count_fields(doc.get('contains')) for doc in (fields or {}).values() if isinstance(doc, dict))


def test_all_modules_found():
    assert len(MODULES) >= 8, MODULES


@pytest.mark.parametrize('module', MODULES)
def test_every_return_field_has_type_returned_and_sample(module):
    doc = return_doc(module)
    assert doc, '%s: RETURN is empty' % module
    assert missing(doc) == []


@pytest.mark.parametrize('module', MODULES)
def test_samples_match_types(module):
    """A sample is of the documented type (dict sample for a dict, list for a list, ...)."""
    kinds = dict(str=str, int=int, bool=bool, dict=dict, list=list, float=(int, float))

    def check(fields, prefix=''):
        bad = []
        for name, doc in (fields or {}).items():
            if not isinstance(doc, dict):
                continue
            kind = kinds.get(doc.get('type'))
            if 'sample' in doc and doc['sample'] is not None and kind is not None:
                if not isinstance(doc['sample'], kind) or (doc.get('type') == 'int' and isinstance(doc['sample'], bool)):
                    bad.append('%s%s: sample %r is not %s' % (prefix, name, doc['sample'], doc['type']))
            bad.extend(check(doc.get('contains'), prefix + name + '.'))
        return bad

    assert check(return_doc(module)) == []
