"""Cinder volume driver: sparse files + os-brick ``local`` connector + faults.

Volumes are sparse files under ``<state_path>/volumes/<backend>/``, so the
posix backup driver can really read and write them (backup and restore work),
and every call honours the ``localcloud_*`` metadata keys (see faults.py).
Runs inside cinder-volume (eventlet monkey patched: ``time.sleep`` only
pauses the one request).
"""

import os
import subprocess

from oslo_config import cfg
from oslo_log import log as logging

from cinder import exception
from cinder import objects
from cinder.tests import fake_driver

from localcloud.drivers import faults

LOG = logging.getLogger(__name__)
CONF = cfg.CONF
GiB = 1024 ** 3


def _md(obj):
    try:
        return dict(obj.metadata or {})
    except Exception:  # noqa: BLE001 - not loaded / deleted volume
        return {}


class LocalFileVolumeDriver(fake_driver.FakeLoggingVolumeDriver):
    VERSION = "1.0.0"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        group = self.configuration.config_group or "default"
        self.backend_name = (self.configuration.safe_get("volume_backend_name") or group)
        self.protocol = "local"
        self.pool_name = group
        # one directory for every backend: a volume on one backend (AZ) can be
        # created from a snapshot that lives on the other one
        self.base_dir = os.path.join(CONF.state_path, "volumes")

    # --- helpers -----------------------------------------------------------
    def _vol_path(self, volume):
        return os.path.join(self.base_dir, "volume-%s" % volume["id"])

    def local_path(self, volume, vg=None):
        """The volume's file: the LVM parent's image <-> volume copies (upload to Glance, create from an
        image) read and write it here instead of an LVM device under /dev/mapper."""
        return self._vol_path(volume)

    def _snap_path(self, snapshot):
        return os.path.join(self.base_dir, "snapshot-%s" % snapshot["id"])

    def _fault(self, op, *metadatas):
        msg = faults.apply(op, *metadatas)
        if msg:
            LOG.warning(msg)
            raise exception.VolumeBackendAPIException(data=msg)

    def _copy(self, src, dst, size_gb=None):
        subprocess.run(["cp", "--sparse=always", src, dst], check=True)
        if size_gb:
            with open(dst, "r+b") as fh:
                fh.truncate(max(os.path.getsize(dst), int(size_gb) * GiB))

    def _mkfile(self, path, size_gb):
        os.makedirs(self.base_dir, exist_ok=True)
        with open(path, "wb") as fh:
            fh.truncate(int(size_gb) * GiB)

    # --- driver API -----------------------------------------------------------
    def do_setup(self, context):
        os.makedirs(self.base_dir, exist_ok=True)

    def check_for_setup_error(self):
        pass

    def validate_connector(self, connector):
        pass  # the local connector needs no initiator/wwpns

    def create_volume(self, volume):
        self._fault("create", _md(volume))
        self._mkfile(self._vol_path(volume), volume["size"])

    def create_volume_from_snapshot(self, volume, snapshot):
        self._fault("create", _md(volume))
        src = self._snap_path(snapshot)
        if os.path.exists(src):
            self._copy(src, self._vol_path(volume), volume["size"])
        else:
            self._mkfile(self._vol_path(volume), volume["size"])

    def create_cloned_volume(self, volume, src_vref):
        self._fault("create", _md(volume))
        src = self._vol_path(src_vref)
        if os.path.exists(src):
            self._copy(src, self._vol_path(volume), volume["size"])
        else:
            self._mkfile(self._vol_path(volume), volume["size"])

    def delete_volume(self, volume):
        self._fault("delete", _md(volume))
        try:
            os.unlink(self._vol_path(volume))
        except FileNotFoundError:
            pass

    def create_snapshot(self, snapshot):
        self._fault("snapshot", _md(snapshot.volume), _md(snapshot))
        src = self._vol_path(snapshot.volume)
        if os.path.exists(src):
            self._copy(src, self._snap_path(snapshot))
        else:
            self._mkfile(self._snap_path(snapshot), snapshot.volume_size)

    def delete_snapshot(self, snapshot):
        self._fault("delete_snapshot", _md(snapshot))
        try:
            os.unlink(self._snap_path(snapshot))
        except FileNotFoundError:
            pass

    def revert_to_snapshot(self, context, volume, snapshot):
        self._fault("revert", _md(volume))
        self._copy(self._snap_path(snapshot), self._vol_path(volume), volume["size"])

    def extend_volume(self, volume, new_size):
        self._fault("extend", _md(volume))
        path = self._vol_path(volume)
        if not os.path.exists(path):
            self._mkfile(path, new_size)
        with open(path, "r+b") as fh:
            fh.truncate(int(new_size) * GiB)

    def copy_volume_to_image(self, context, volume, image_service, image_meta):
        """Upload to Glance (the LVM parent reads local_path); ``upload`` fails it, also when set on the
        volume's source snapshot or the snapshot's volume (Freezer's cinder mode uploads a temporary copy)."""
        lineage = [_md(volume)]
        if volume.get("snapshot_id"):
            try:
                snapshot = objects.Snapshot.get_by_id(context.elevated(), volume["snapshot_id"])
                lineage += [_md(snapshot), _md(snapshot.volume)]
            except Exception:  # noqa: BLE001 - the snapshot is gone: only the volume's own keys count
                pass
        self._fault("upload", *lineage)
        super().copy_volume_to_image(context, volume, image_service, image_meta)

    def initialize_connection(self, volume, connector, **kwargs):
        path = self._vol_path(volume)
        if not os.path.exists(path):
            self._mkfile(path, volume["size"])
        return {"driver_volume_type": "local",
                "data": {"device_path": path, "access_mode": "rw"}}

    def initialize_connection_snapshot(self, snapshot, connector, **kwargs):
        return {"driver_volume_type": "local",
                "data": {"device_path": self._snap_path(snapshot), "access_mode": "ro"}}

    def terminate_connection(self, volume, connector, **kwargs):
        pass

    def _update_volume_stats(self):
        self._stats = {
            "volume_backend_name": self.backend_name,
            "vendor_name": "localcloud",
            "driver_version": self.VERSION,
            "storage_protocol": "local",
            "pools": [{
                "pool_name": self.pool_name,
                "total_capacity_gb": 1000,
                "free_capacity_gb": 1000,
                "provisioned_capacity_gb": 0,
                "reserved_percentage": 0,
                "max_over_subscription_ratio": 20.0,
                "thin_provisioning_support": True,
                "thick_provisioning_support": False,
                "QoS_support": False,
                "multiattach": True,
                "online_extend_support": True,
                "consistencygroup_support": False,
                "consistent_group_snapshot_enabled": False,
            }],
        }
