"""Nova virt driver for the local cloud: the stock fake driver, made to behave like a hypervisor.

- spawn of an image-booted server downloads the image's bytes from Glance into
  ``<instances_path>/<uuid>/disk`` (the server's "disk");
- snapshot uploads that disk to the Glance image Nova created, so snapshots
  become ``active`` with real data (the stock driver uploads nothing: ``queued``);
- instances survive a nova-compute restart (``info.json`` per instance, reloaded
  in init_host) instead of vanishing from the driver's memory;
- volume attach goes through os-brick's ``local`` connector (Cinder's local file
  backend hands out a file path): the path must exist, or the attach fails.

Loaded by nova-compute only, through ``localcloud/drivers/nova_compute.py`` (``compute_driver =
localcloud_fake.LocalCloudFakeDriver``).
"""

import json
import os
import shutil

from nova.compute import power_state, task_states
from nova import exception
from nova.image import glance
from nova.virt import fake
from oslo_config import cfg
from oslo_log import log as logging

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


class LocalCloudFakeDriver(fake.FakeDriverWithoutFakeNodes):

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi, read_only=read_only)
        self._image_api = glance.API()

    # --- files ------------------------------------------------------------
    @staticmethod
    def _dir(uuid):
        return os.path.join(CONF.instances_path, uuid)

    def _disk(self, uuid):
        return os.path.join(self._dir(uuid), "disk")

    def _save(self, instance, state):
        os.makedirs(self._dir(instance.uuid), exist_ok=True)
        with open(os.path.join(self._dir(instance.uuid), "info.json"), "w") as fh:
            json.dump({"name": instance.name, "state": state}, fh)

    def init_host(self, host):
        super().init_host(host)
        try:
            uuids = os.listdir(CONF.instances_path)
        except OSError:
            uuids = []
        for uuid in uuids:
            try:
                with open(os.path.join(self._dir(uuid), "info.json")) as fh:
                    info = json.load(fh)
            except (OSError, ValueError):
                continue
            self.instances[uuid] = fake.FakeInstance(info["name"], info["state"], uuid)

    # --- lifecycle ----------------------------------------------------------
    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        os.makedirs(self._dir(instance.uuid), exist_ok=True)
        image_id = getattr(image_meta, "id", None) if image_meta.obj_attr_is_set("id") else None
        if image_id and not _boots_from_volume(block_device_info):
            # image-booted: the image's bytes become the server's disk
            self._image_api.download(context, image_id, dest_path=self._disk(instance.uuid))
        for bdm in (block_device_info or {}).get("block_device_mapping") or []:
            _check_local_connection(bdm.get("connection_info"), instance)
        super().spawn(context, instance, image_meta, injected_files, admin_password,
                      allocations, network_info=network_info,
                      block_device_info=block_device_info, power_on=power_on,
                      accel_info=accel_info)
        self._save(instance, power_state.RUNNING if power_on else power_state.SHUTDOWN)

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        super().destroy(context, instance, network_info, block_device_info=block_device_info,
                        destroy_disks=destroy_disks, destroy_secrets=destroy_secrets)
        if destroy_disks:
            shutil.rmtree(self._dir(instance.uuid), ignore_errors=True)

    def power_off(self, instance, timeout=0, retry_interval=0):
        super().power_off(instance, timeout, retry_interval)
        self._save(instance, power_state.SHUTDOWN)

    def power_on(self, context, instance, network_info, block_device_info=None,
                 accel_info=None, share_info=None):
        super().power_on(context, instance, network_info, block_device_info=block_device_info,
                         accel_info=accel_info, share_info=share_info)
        self._save(instance, power_state.RUNNING)

    # --- snapshot: upload real bytes ----------------------------------------
    def snapshot(self, context, instance, image_id, update_task_state):
        if instance.uuid not in self.instances:
            raise exception.InstanceNotRunning(instance_id=instance.uuid)
        disk = self._disk(instance.uuid)
        if not os.path.exists(disk):
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        base = instance.image_meta
        metadata = {
            "disk_format": base.disk_format if base.obj_attr_is_set("disk_format") else "raw",
            "container_format": "bare",
            "properties": {"image_location": "snapshot", "image_state": "available",
                           "owner_id": instance.project_id},
        }
        update_task_state(task_state=task_states.IMAGE_UPLOADING,
                          expected_state=task_states.IMAGE_PENDING_UPLOAD)
        with open(disk, "rb") as fh:
            self._image_api.update(context, image_id, metadata, data=fh, purge_props=False)
        LOG.info("snapshot %s uploaded (%d bytes)", image_id, os.path.getsize(disk),
                 instance=instance)

    # --- volumes through os-brick's local connector -------------------------
    def attach_volume(self, context, connection_info, instance, mountpoint,
                      disk_bus=None, device_type=None, encryption=None):
        _check_local_connection(connection_info, instance)
        super().attach_volume(context, connection_info, instance, mountpoint,
                              disk_bus=disk_bus, device_type=device_type,
                              encryption=encryption)


def _boots_from_volume(block_device_info):
    for bdm in (block_device_info or {}).get("block_device_mapping") or []:
        if bdm.get("boot_index") == 0:
            return True
    return False


def _check_local_connection(connection_info, instance):
    """Connect like a hypervisor would: os-brick's local connector -> a file that must exist."""
    if not connection_info or connection_info.get("driver_volume_type") != "local":
        return
    from os_brick.initiator import connector
    conn = connector.InitiatorConnector.factory("LOCAL", None)
    device = conn.connect_volume(connection_info.get("data") or {})
    if not os.path.exists(device.get("path") or ""):
        raise exception.VolumeNotFound(volume_id=connection_info.get("serial") or "?")
    LOG.info("volume %s reachable at %s", connection_info.get("serial"), device["path"],
             instance=instance)
