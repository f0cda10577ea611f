"""Make the collection importable as ansible_collections.dataprotection.openstack."""
import os
import sys

_COLLECTIONS = os.path.join(os.path.dirname(__file__), '..', '..', '.venv', 'collections')
if os.path.isdir(_COLLECTIONS) and os.path.abspath(_COLLECTIONS) not in [os.path.abspath(p) for p in sys.path]:
    sys.path.insert(0, os.path.abspath(_COLLECTIONS))
