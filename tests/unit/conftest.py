"""Make the collection importable as ansible_collections.dataprotection.openstack."""
import os
import sys

_COLLECTIONS = os.path.join(os.path.dirname(__file__), '..', '..', '.venv', 'collections')
if os.path.isdir(_COLLECTIONS) and os.path.abspath(_COLLECTIONS) not in [os.path.abspath(p) for p in sys.path]:
    sys.path.insert(0, os.path.abspath(_COLLECTIONS))


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _no_race_grace(monkeypatch):
    """The snapshot drivers wait out created_at's one-second resolution before settling races; fakes need not."""
    from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import snapshots
    monkeypatch.setattr(snapshots.SnapshotDriver, 'race_grace', 0)


# The run cache (run_cache.py) is on by default and lives in the user's cache directory; unit tests serve fakes on
# random ports, so one test's version document must never reach another: off here, tests of the cache pass options.
os.environ['DATAPROTECTION_OPENSTACK_DISCOVERY_CACHE_TTL'] = '0'
os.environ.pop('DATAPROTECTION_OPENSTACK_TOKEN_CACHE', None)
