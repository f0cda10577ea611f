"""Fault injection keys shared by the fake drivers (no OpenStack imports).

Metadata on the resource (Cinder volume/snapshot, Manila share/snapshot):

- ``localcloud_fail``: comma separated operations that must fail, e.g.
  ``snapshot`` or ``create,backup``.
- ``localcloud_delay_<op>``: seconds the backend spends in ``<op>`` before it
  finishes (e.g. ``localcloud_delay_snapshot: "20"``).

Operations: create, delete, snapshot, delete_snapshot, extend, revert,
backup, restore, upload (Cinder); create, delete, snapshot, delete_snapshot, revert,
extend, shrink (Manila).
"""

import time

FAIL_KEY = "localcloud_fail"
DELAY_PREFIX = "localcloud_delay_"


def _merge(*metadatas):
    merged = {}
    for md in metadatas:
        if md:
            merged.update(md)
    return merged


def failing_ops(*metadatas):
    md = _merge(*metadatas)
    return {op.strip().lower() for op in str(md.get(FAIL_KEY, "")).split(",") if op.strip()}


def delay_for(op, *metadatas):
    md = _merge(*metadatas)
    try:
        return max(0.0, float(md.get(DELAY_PREFIX + op, 0) or 0))
    except (TypeError, ValueError):
        return 0.0


def apply(op, *metadatas, sleep=time.sleep):
    """Sleep the injected delay for ``op``; return an error text if ``op`` must fail."""
    delay = delay_for(op, *metadatas)
    if delay:
        sleep(delay)
    if op in failing_ops(*metadatas):
        return "localcloud fault injection: %s=%s makes '%s' fail" % (
            FAIL_KEY, _merge(*metadatas).get(FAIL_KEY), op)
    return None
