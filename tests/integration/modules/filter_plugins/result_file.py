# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test harness only: ``"{{ {...} | to_json | dp_test_write_file(path) }}"`` writes the registered results of a
play to ``path`` from the controller. A ``debug`` task using it replaces a ``copy`` task, which ran two modules
(stat and copy): about 1.2 s of CPU for every module run of the integration tests."""

from __future__ import annotations


def write_file(text, path):
    with open(path, 'w') as handle:
        handle.write(text)
    return 'results written to %s' % path


class FilterModule:
    def filters(self):
        return {'dp_test_write_file': write_file}
