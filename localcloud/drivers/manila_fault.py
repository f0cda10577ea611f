"""Manila DummyDriver (DHSS=False) plus ``localcloud_*`` fault keys.

Keys are read from the share's metadata (and the snapshot's, for snapshot
operations): ``localcloud_fail: snapshot`` makes snapshot creation fail (the
snapshot goes to ``error``), ``localcloud_delay_snapshot: N`` keeps it in
``creating`` N seconds.  manila-share is eventlet monkey patched, so a delay
only pauses that one request.
"""

from oslo_log import log as logging

from manila import context as manila_context
from manila import db
from manila import exception
from manila.tests.share.drivers import dummy

from localcloud.drivers import faults

LOG = logging.getLogger(__name__)


def _share_md(share_id):
    if not share_id:
        return {}
    try:
        return dict(db.share_metadata_get(manila_context.get_admin_context(), share_id))
    except Exception as exc:  # noqa: BLE001 - share gone: no faults
        LOG.debug("localcloud: no metadata for share %s: %s", share_id, exc)
        return {}


def _snap_md(snapshot_id):
    if not snapshot_id:
        return {}
    try:
        return dict(db.share_snapshot_metadata_get(
            manila_context.get_admin_context(), snapshot_id))
    except Exception:  # noqa: BLE001
        return {}


def _get(obj, key):
    try:
        return obj[key]
    except (KeyError, TypeError, AttributeError):
        return getattr(obj, key, None)


def _snap_share_md(snapshot):
    """Metadata of the share a snapshot (instance dict) belongs to."""
    share_instance = _get(snapshot, "share") or {}
    for share_id in (_get(share_instance, "share_id"), _get(snapshot, "share_id")):
        md = _share_md(share_id)
        if md:
            return md
    return {}


class FaultDummyDriver(dummy.DummyDriver):

    def _fault(self, op, *metadatas):
        keys = {k: v for md in metadatas for k, v in md.items()
                if k.startswith("localcloud_")}
        if keys:
            LOG.info("localcloud: %s with fault keys %s", op, keys)
        msg = faults.apply(op, *metadatas)
        if msg:
            LOG.warning(msg)
            raise exception.ShareBackendException(msg=msg)

    def create_share(self, context, share, share_server=None):
        self._fault("create", _share_md(_get(share, "share_id")))
        return super().create_share(context, share, share_server)

    def create_share_from_snapshot(self, context, share, snapshot, share_server=None,
                                   parent_share=None):
        self._fault("create", _share_md(_get(share, "share_id")))
        return super().create_share_from_snapshot(context, share, snapshot,
                                                  share_server=share_server,
                                                  parent_share=parent_share)

    def delete_share(self, context, share, share_server=None):
        self._fault("delete", _share_md(_get(share, "share_id")))
        return super().delete_share(context, share, share_server)

    def create_snapshot(self, context, snapshot, share_server=None):
        self._fault("snapshot", _snap_share_md(snapshot),
                    _snap_md(_get(snapshot, "snapshot_id")))
        return super().create_snapshot(context, snapshot, share_server)

    def delete_snapshot(self, context, snapshot, share_server=None):
        self._fault("delete_snapshot", _snap_md(_get(snapshot, "snapshot_id")))
        return super().delete_snapshot(context, snapshot, share_server)

    def revert_to_snapshot(self, context, snapshot, share_access_rules,
                           snapshot_access_rules, share_server=None):
        self._fault("revert", _snap_share_md(snapshot))
        return super().revert_to_snapshot(context, snapshot, share_access_rules,
                                          snapshot_access_rules, share_server)

    def extend_share(self, share, new_size, share_server=None):
        self._fault("extend", _share_md(_get(share, "share_id")))
        return super().extend_share(share, new_size, share_server)
