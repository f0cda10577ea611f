# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: protectables
short_description: Protectable OpenStack volumes and shares (and Kubernetes pods) as inventory hosts
version_added: 0.1.0
description:
  - Makes every protectable Cinder volume and Manila share - of the credentials' project, of a list of O(projects)
    or, for an admin, of all projects (O(all_projects)) - and, when O(kubeconfig) is given, every Kubernetes pod an
    inventory host, so that a playbook protects them fanned out by Ansible's C(forks) and by AWX job slicing
    (see C(playbooks/protect_fleet.yml)).
  - Each host has one variable, C(protectable), a dict describing the resource and its protections; every key is
    listed in the notes below. O(compose), O(groups) and O(keyed_groups) read it as C(protectable.<key>).
  - Hosts are also in the groups C(volumes), C(shares) and C(pods), and in the groups of O(keyed_groups) and
    O(groups); O(compose) sets further variables (for example C(ansible_connection)).
  - Credentials come as in the modules - O(cloud) from C(clouds.yaml) (also O(clouds_yaml_path)), or C(OS_*)
    variables and C(OS_CLIENT_CONFIG_FILE) as AWX's OpenStack credential injects them. No credential or token ever
    becomes a host variable. Every request has a timeout (O(api_timeout)).
  - The file must be named C(*protectables.yml) or C(*protectables.yaml).
  - Two listing requests per kind of resource (one per project with O(projects)), plus one project listing.
notes:
  - "Host variable C(protectable) - the keys of every host:"
  - C(protectable.kind) - V(volume), V(share) or V(pod).
  - C(protectable.id) - the Cinder volume id, the Manila share id, or the pod's C(metadata.uid).
  - C(protectable.name) - the resource's name (C(namespace/name) for pods); empty string when it has none.
  - C(protectable.project_id), C(protectable.project_name) - the owning project (the name falls back to the id when the
    credentials cannot list project names); V(null) for pods.
  - C(protectable.availability_zone), C(protectable.size) (GiB) - V(null) for pods.
  - C(protectable.status) - the service's status (C(available), C(in-use)...); the pod's phase for pods.
  - C(protectable.metadata) - the volume's or share's metadata; the pod's labels for pods.
  - C(protectable.created_at) - ISO 8601 creation time, UTC (V(null) for pods).
  - C(protectable.protectable) - V(true) unless the resource is in a status it cannot be protected in (C(error),
    C(error_deleting), C(deleting), and Manila's C(*_error) statuses; for pods, see C(problems)).
  - C(protectable.protections) - a dict keyed by protection name - the snapshot modules' option
    O(dataprotection.openstack.cinder_snapshot_protect#module:protection), or the Freezer C(backup_name). Each value
    holds C(kind) (V(snapshot), V(share_snapshot) or V(freezer_backup)), C(snapshot_id) and C(snapshot_name) of the
    newest available protection (V(null) when none is available), its C(created_at) and C(age_seconds) (at the time the
    inventory was read), C(available) (how many available ones there are), C(last_id) and C(last_status) of the newest
    attempt, whatever its status, and C(last_failed) (V(true) when that attempt failed - C(error), C(error_deleting)).
    When a name exists in several kinds (a snapshot and a Freezer backup both named C(nightly)), the kind with the
    youngest available protection is shown. Only protections this collection made count (snapshots carrying
    C(dataprotection_managed) and C(dataprotection_protection) metadata, Freezer backups marked C(created_by=freezer)).
    Pods always have an empty dict - their checkpoints live in the bank and are reported by
    M(dataprotection.openstack.protection_report).
  - C(protectable.protections_by_kind) - volumes and shares only - the same per kind, a dict of kind (the kinds above)
    to a dict of protection name to protection, so that a snapshot and a Freezer backup of the same name can both be
    checked, for example C(protectable.protections_by_kind.freezer_backup.nightly.age_seconds). A kind with no
    protection is left out.
  - C(protectable.namespace), C(protectable.phase), C(protectable.volumes) (the pod's volumes, each with the Cinder
    volume behind it and what keeps it from being protected, if anything) and C(protectable.problems) (why a pod cannot
    be protected, empty when it can) - pods only.
  - No credential, token or secret ever becomes a host variable. Variables set by O(compose) come in addition.
  - "Groups: C(volumes), C(shares) and C(pods) (by kind), plus those of O(keyed_groups) and O(groups)."
author:
  - dataprotection.openstack contributors (@dataprotection)
requirements:
  - openstacksdk
  - jmespath (for O(query))
  - kubernetes (for pods)
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: Token that marks the file as this plugin's source.
    required: true
    type: str
    choices: [dataprotection.openstack.protectables]
  cloud:
    description:
      - Name of the cloud in C(clouds.yaml). When omitted, C(OS_*) variables and the sole cloud of the file named
        by C(OS_CLIENT_CONFIG_FILE) are used (AWX).
    type: str
    env:
      - name: OS_CLOUD
  clouds_yaml_path:
    description: Paths of C(clouds.yaml) files searched before openstacksdk's usual locations.
    type: list
    elements: str
    env:
      - name: OS_CLIENT_CONFIG_FILE
  auth:
    description: Authentication parameters as in C(clouds.yaml) (never a host variable).
    type: dict
  auth_type:
    description: Keystone authentication plugin.
    type: str
  region_name:
    description: Region of the cloud.
    type: str
  interface:
    description: Endpoint interface of the service catalog.
    type: str
    default: public
    choices: [public, internal, admin]
  validate_certs:
    description: Whether to verify TLS certificates (default - the cloud's configuration, verification on).
    type: bool
  ca_cert:
    description: CA bundle verifying the API's TLS certificates.
    type: str
  client_cert:
    description: Client TLS certificate.
    type: str
  client_key:
    description: Private key of O(client_cert).
    type: str
  api_timeout:
    description:
      - Seconds one API request may take (connect, and between bytes of the answer); default 30 unless the cloud's
        configuration sets it.
    type: int
  resource_types:
    description:
      - Kinds of hosts. V(pod) needs O(kubeconfig) (or C(K8S_AUTH_*) variables) and the kubernetes library.
      - Default - V(volume) and V(share), plus V(pod) when O(kubeconfig) is set. A kind whose service the cloud's
        catalog lacks is skipped with a warning when several are asked.
    type: list
    elements: str
    choices: [volume, share, pod]
  all_projects:
    description:
      - Every project's resources (needs the admin role; other credentials get their own project only). Explicit
        opt-in - without it, or O(projects), only the credentials' project is read.
    type: bool
    default: false
  projects:
    description: Names or ids of the projects to read (an admin may name any project). Exclusive with O(all_projects).
    type: list
    elements: str
  metadata:
    description: Keep only resources whose metadata holds all these key/value pairs.
    type: dict
  availability_zones:
    description: Keep only resources in these availability zones.
    type: list
    elements: str
  statuses:
    description: Keep only resources in these statuses.
    type: list
    elements: str
  name_pattern:
    description: Keep only resources whose name matches this Python regular expression (searched; anchor with ^ $).
    type: str
  query:
    description:
      - A JMESPath expression over the resources left by the other filters (the dicts of the C(protectable) host
        variable); the resources it returns become hosts.
    type: str
  include_unprotectable:
    description: Also make hosts of resources in a failed status (C(error), C(deleting)...).
    type: bool
    default: false
  slice_count:
    description:
      - Split the hosts into this many disjoint slices by a hash of each resource's id, and keep only slice
        O(slice_index). A resource keeps its slice whatever other resources appear or go, so runs started at
        different times with different O(slice_index) never share a resource. AWX job slicing needs none of this;
        it is for parallel C(ansible-playbook) or C(ansible-runner) runs.
    type: int
    env:
      - name: DATAPROTECTION_SLICE_COUNT
  slice_index:
    description: Which slice (1 to O(slice_count)) to keep.
    type: int
    env:
      - name: DATAPROTECTION_SLICE_INDEX
  hostnames:
    description:
      - V(name) names each host after its resource (C(namespace/name) for pods), with the id instead when the name
        is empty or shared by another resource of the inventory; V(id) always uses the id.
    type: str
    default: name
    choices: [name, id]
  kubeconfig:
    description: Path of a kubeconfig; set it to also list Kubernetes pods (env C(K8S_AUTH_KUBECONFIG) also works).
    type: path
  context:
    description: kubeconfig context.
    type: str
  namespaces:
    description: Namespaces whose pods become hosts (default - all namespaces).
    type: list
    elements: str
'''

EXAMPLES = r'''
# protectables.yml - every volume and share of every project (admin), grouped by project and by kind
plugin: dataprotection.openstack.protectables
cloud: mycloud-admin
all_projects: true
statuses: [available, in-use]
keyed_groups:
  - key: protectable.project_name
    prefix: project
  - key: protectable.availability_zone
    prefix: az
groups:
  unprotected: "'nightly' not in protectable.protections"
compose:
  ansible_connection: "'local'"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/dataprotection-inventory
cache_timeout: 600

# Only production volumes of two projects, whose name starts with db-
plugin: dataprotection.openstack.protectables
cloud: mycloud-admin
projects: [shop, billing]
resource_types: [volume]
metadata:
  env: production
name_pattern: ^db-

# AWX / Ansible Automation Platform inventory source:
#   Inventories > Add inventory > Sources > Add source
#     Source: Sourced from a Project; Project: the project holding this file and collections/requirements.yml
#     (listing dataprotection.openstack); Inventory file: inventory/protectables.yml
#     Credential: an "OpenStack" credential (AWX injects OS_CLIENT_CONFIG_FILE naming a clouds.yaml with one
#     cloud, which the plugin uses when no cloud is set here)
#     Update on launch: on (or a cache_timeout below the job's schedule)
#   Job template with "Job Slicing" N runs playbooks/protect_fleet.yml as N jobs on disjoint host subsets.
# inventory/protectables.yml
plugin: dataprotection.openstack.protectables
all_projects: true
resource_types: [volume, share]
keyed_groups:
  - key: protectable.project_name
    prefix: project
groups:
  stale_nightly: "'nightly' not in protectable.protections or protectable.protections.nightly.age_seconds > 86400"
compose:
  ansible_connection: "'local'"

# Host variables of a volume host (ansible-inventory --host <name>):
# protectable:
#   kind: volume
#   id: 6f0c...
#   name: db-1
#   project_id: 3a1e...
#   project_name: shop
#   availability_zone: nova
#   size: 10
#   status: in-use
#   metadata: {env: production}
#   created_at: '2026-11-30T08:00:00+00:00'
#   protectable: true
#   protections:
#     nightly: {kind: snapshot, snapshot_id: 9b2d..., snapshot_name: nightly-20261202T020000000000Z,
#               created_at: '2026-12-02T02:00:00+00:00', age_seconds: 30412.5, available: 7,
#               last_id: 9b2d..., last_status: available, last_failed: false}
#   protections_by_kind:
#     snapshot: {nightly: {...}}
#     freezer_backup: {weekly: {...}}
'''

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils import fleet
from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection

_CONNECTION_OPTIONS = ('cloud', 'clouds_yaml_path', 'auth', 'auth_type', 'region_name', 'interface',
                       'validate_certs', 'ca_cert', 'client_cert', 'client_key', 'api_timeout')
KIND_GROUPS = dict(volume='volumes', share='shares', pod='pods')


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = 'dataprotection.openstack.protectables'

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(('protectables.yml', 'protectables.yaml'))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option('cache')
        records = None
        if use_cache and cache:
            try:
                records = self._cache[cache_key]
            except KeyError:
                records = None
        if records is None:
            records = self._read()
            if use_cache:
                self._cache[cache_key] = records
        try:
            kept = fleet.select(records, metadata=self.get_option('metadata'),
                                availability_zones=self.get_option('availability_zones'),
                                statuses=self.get_option('statuses'), name_pattern=self.get_option('name_pattern'),
                                query=self.get_option('query'),
                                include_unprotectable=self.get_option('include_unprotectable'),
                                slice_count=self.get_option('slice_count'), slice_index=self.get_option('slice_index'))
        except ProtectionError as exc:
            raise AnsibleParserError('%s: %s' % (path, exc.msg))
        self._populate(kept)

    # -- reading the cloud --------------------------------------------------
    def _kinds(self):
        kinds = self.get_option('resource_types')
        if kinds is None:
            kinds = list(fleet.KINDS) + (['pod'] if self.get_option('kubeconfig') else [])
        if not kinds:
            raise AnsibleParserError('resource_types is empty: name at least one of volume, share, pod')
        return kinds

    def _read(self):
        kinds = self._kinds()
        records = []
        cloud_kinds = [k for k in kinds if k != 'pod']
        if cloud_kinds:
            if not os_connection.HAS_OPENSTACKSDK:
                raise AnsibleError('the protectables inventory needs openstacksdk on the controller')
            params = dict((name, self.get_option(name)) for name in _CONNECTION_OPTIONS)
            conn = reader = None
            try:
                conn = os_connection.connect(params)
                reader = fleet.Fleet(conn, all_projects=self.get_option('all_projects'),
                                     projects=self.get_option('projects'))
                records.extend(reader.read(cloud_kinds))
            except ProtectionError as exc:
                raise AnsibleError('protectables inventory: %s' % exc.msg)
            except Exception as exc:  # pylint: disable=broad-except
                if os_connection.is_sdk_error(exc):
                    raise AnsibleError('protectables inventory: %s' % os_connection.describe_error(exc, conn))
                raise
            for warning in reader.warnings:
                self.display.warning(warning)
        if 'pod' in kinds:
            records.extend(self._pods())
        return records

    def _pods(self):
        from ansible_collections.dataprotection.openstack.plugins.module_utils import kubernetes as k8s
        from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s_pod import K8sPodDriver
        if not k8s.HAS_KUBERNETES:
            raise AnsibleError('pods in the protectables inventory need the kubernetes Python library')
        params = dict(kubeconfig=self.get_option('kubeconfig'), context=self.get_option('context'),
                      api_timeout=self.get_option('api_timeout'))
        try:
            driver = K8sPodDriver(None, k8s.KubeClient(k8s.api_client(params)), None)
            pods = []
            for namespace in self.get_option('namespaces') or [None]:
                pods.extend(driver.protectables(namespace))
        except ProtectionError as exc:
            raise AnsibleError('protectables inventory: %s' % exc.msg)
        return [dict(kind='pod', id=pod['uid'], name='%s/%s' % (pod['namespace'], pod['name']),
                     namespace=pod['namespace'], project_id=None, project_name=None, availability_zone=None,
                     size=None, status=pod['phase'], phase=pod['phase'], metadata=dict(pod['labels'] or {}),
                     created_at=None, protectable=pod['protectable'], problems=pod['problems'],
                     volumes=pod['volumes'], protections={}) for pod in pods]

    # -- hosts ----------------------------------------------------------------
    def _populate(self, records):
        for kind in KIND_GROUPS.values():
            self.inventory.add_group(kind)
        counts = {}
        for item in records:
            counts[item['name']] = counts.get(item['name'], 0) + 1
        strict = self.get_option('strict')
        by_id = self.get_option('hostnames') == 'id'
        for item in records:
            host = item['id'] if by_id or not item['name'] or counts[item['name']] > 1 else item['name']
            self.inventory.add_host(host, group=KIND_GROUPS[item['kind']])
            self.inventory.set_variable(host, 'protectable', item)
            hostvars = dict(protectable=item)
            self._set_composite_vars(self.get_option('compose'), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option('groups'), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option('keyed_groups'), hostvars, host, strict=strict)
