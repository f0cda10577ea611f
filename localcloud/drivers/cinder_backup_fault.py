"""Cinder backup driver: the posix driver plus ``localcloud_*`` fault keys.

``localcloud_fail: backup`` / ``localcloud_delay_backup: N`` on the SOURCE
volume make a backup fail / take N more seconds; ``localcloud_fail: restore``
/ ``localcloud_delay_restore`` on the TARGET volume do the same for restores.
"""

from oslo_log import log as logging

from cinder import context as cinder_context
from cinder import exception
from cinder import objects
from cinder.backup.drivers import posix

from localcloud.drivers import faults

LOG = logging.getLogger(__name__)


def _volume_md(volume_id):
    try:
        vol = objects.Volume.get_by_id(cinder_context.get_admin_context(), volume_id)
        return dict(vol.metadata or {})
    except Exception:  # noqa: BLE001 - volume gone: no faults
        return {}


class FaultPosixBackupDriver(posix.PosixBackupDriver):

    def _fault(self, op, volume_id):
        msg = faults.apply(op, _volume_md(volume_id))
        if msg:
            LOG.warning(msg)
            raise exception.BackupDriverException(reason=msg)

    def backup(self, backup, volume_file, backup_metadata=True):
        self._fault("backup", backup.volume_id)
        return super().backup(backup, volume_file, backup_metadata)

    def restore(self, backup, volume_id, volume_file, volume_is_new):
        self._fault("restore", volume_id)
        return super().restore(backup, volume_id, volume_file, volume_is_new)
