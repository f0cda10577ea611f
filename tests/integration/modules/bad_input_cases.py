"""Generated bad-input argument sets for every OpenStack module (issue 12), with the message each must produce.

A case is ``Case(id, args, expect, why)``: the module arguments, and substrings that must ALL appear in the
task's ``msg`` (the option or resource named, plus the reason where the message is the collection's own).
Values that reach a service point at resources that do not exist (or live in another project), so even a
missing check cannot create anything; every generated name carries the run's marker, so anything left behind
is found afterwards.
"""
import os
import uuid
from collections import namedtuple

Case = namedtuple('Case', 'id args expect why')

CINDER = 'dataprotection.openstack.cinder_snapshot_protect'
MANILA = 'dataprotection.openstack.manila_share_protect'
PROTECTABLE = 'dataprotection.openstack.protectable_info'
FREEZER_JOB = 'dataprotection.openstack.freezer_job'
CENTRAL = 'dataprotection.openstack.freezer_central_scheduler'
K8S_POD = 'dataprotection.openstack.k8s_pod_protect'
K8S_APP = 'dataprotection.openstack.k8s_app_protect'
CHECKPOINTS = 'dataprotection.openstack.checkpoint_info'

# module -> short code appended to the run's marker (names stay valid Kubernetes names: lowercase, digits, -)
CODES = {CINDER: 'cin', MANILA: 'man', PROTECTABLE: 'pin', FREEZER_JOB: 'fjb', CENTRAL: 'fcs', K8S_POD: 'k8s',
         K8S_APP: 'kap', CHECKPOINTS: 'cpi'}

# (kind, value from the marker, reason phrase of validation.check_name)
NAME_KINDS = (
    ('empty', lambda m: '', 'must not be empty'),
    ('blank', lambda m: '   ', 'must not be empty'),
    ('leading-space', lambda m: ' ' + m, 'leading or trailing whitespace'),
    ('trailing-space', lambda m: m + ' ', 'leading or trailing whitespace'),
    ('too-long', lambda m: (m + '-' + 'x' * 300)[:256], 'characters long'),
    ('emoji', lambda m: m + '-\U0001F4BE', 'outside the Basic Multilingual Plane'),
    ('control-char', lambda m: m + '\x07', 'control characters'),
    ('newline', lambda m: m + '\nx', 'control characters'),
)


class Context:
    """What the cases point at: the run's marker and the few real resources some cases need."""

    def __init__(self, marker, **resources):
        self.marker = marker
        self.__dict__.update(resources)

    def for_module(self, module):
        """The context of one module's cases: its own marker and its own local bank directory."""
        ctx = Context('%s-%s' % (self.marker, CODES[module]), **dict(
            (k, v) for k, v in self.__dict__.items() if k != 'marker'))
        ctx.bank = os.path.join(self.bank_root, CODES[module])
        return ctx


class Builder:
    def __init__(self, base):
        self.base = base
        self.cases = []

    def add(self, case_id, expect, why, drop=(), **override):
        args = dict((k, v) for k, v in self.base.items() if k not in drop)
        args.update(override)
        self.cases.append(Case(case_id, args, list(expect), why))

    def names(self, option, marker, kinds=None, suffix='', **override):
        """One case per bad-name kind for ``option``."""
        for kind, make, reason in NAME_KINDS:
            if kinds is None or kind in kinds:
                self.add('%s-%s%s' % (option, kind, suffix), [option, reason], 'bad name (%s) in %s%s'
                         % (kind, option, suffix.replace('-', ' ')), **dict(override, **{option: make(marker)}))

    def shared(self, wait=True, choices=()):
        """Connection (and wait) options every module takes."""
        self.add('cloud-list', ['cloud', 'got a list'], 'cloud of a wrong type', cloud=['localcloud-demo'])
        self.add('cloud-unknown', ['cloud', 'no-such-cloud'], 'cloud not in clouds.yaml',
                 cloud='no-such-cloud-%s' % uuid.uuid4().hex[:6])
        self.add('cloud-padded', ['cloud', 'leading or trailing whitespace'], 'padded cloud name',
                 cloud='localcloud-demo ')
        self.add('api_timeout-negative', ['api_timeout', '> 0'], 'api_timeout < 0', api_timeout=-1)
        self.add('api_timeout-zero', ['api_timeout', '> 0'], 'api_timeout 0', api_timeout=0)
        self.add('api_timeout-text', ['api_timeout'], 'api_timeout not a number', api_timeout='soon')
        self.add('interface-bad', ['interface', 'private'], 'interface not a choice', interface='private')
        if wait:
            self.add('timeout-negative', ['timeout', '>= 0'], 'timeout < 0', timeout=-1)
            self.add('poll_interval-zero', ['poll_interval', '> 0'], 'poll_interval 0', poll_interval=0)
        for option, value in choices:
            self.add('%s-bad-choice' % option, [option, 'must be one of'], '%s not a choice' % option,
                     **{option: value})


# -- the snapshot modules -----------------------------------------------------------------------------------
def _snapshot_module(c, source, names, metadata, kind, present_name, foreign_id):
    m = c.marker
    b = Builder(dict(cloud='localcloud-demo', snapshot_name=m + '-snap', timeout=30, poll_interval=0.5,
                     **{source: m + '-missing'}))
    b.names(source, m)
    b.names('snapshot_name', m)
    b.names('restore_name', m, kinds=('empty', 'emoji'), state='restored')
    # list / metadata / query selectors
    b.add('%s-empty-list' % names, ['%s is empty' % names], 'empty list selector', drop=(source,), **{names: []})
    b.add('%s-element-empty' % names, ['%s[1]' % names, 'must not be empty'], 'empty element in the list',
          drop=(source,), **{names: [m + '-a', '']})
    b.add('%s-element-padded' % names, ['%s[0]' % names, 'leading or trailing whitespace'], 'padded element',
          drop=(source,), **{names: [' ' + m]})
    b.add('%s-empty' % metadata, ['%s is empty' % metadata], 'empty metadata selector', drop=(source,),
          **{metadata: {}})
    b.add('%s-nested' % metadata, ['%s.tier' % metadata], 'nested metadata selector value', drop=(source,),
          **{metadata: {'tier': {'gold': True}}})
    b.add('query-empty', ['query is empty'], 'empty query', drop=(source,), query='')
    b.add('query-invalid', ['query', 'not a valid JMESPath'], 'query that does not parse', drop=(source,),
          query="[?name=='%s'" % m)
    b.add('query-not-resources', ['query', 'must return a list of %ss' % kind], 'query returning names, not %ss'
          % kind, drop=(source,), query='[*].name')
    # snapshot metadata
    b.add('metadata-nested-dict', ['metadata.owner', 'nested'], 'nested metadata value', metadata={'owner': {'a': 1}})
    b.add('metadata-empty-key', ['metadata', 'empty key'], 'empty metadata key', metadata={'': m})
    b.add('metadata-null-value', ['metadata.owner'], 'null metadata value', metadata={'owner': None})
    b.add('metadata-not-dict', ['metadata'], 'metadata of a wrong type', metadata='not-a-dict')
    # numbers
    b.add('retain-zero', ['retain must be >= 1'], 'retain 0', retain=0)
    b.add('retain-text', ['retain'], 'retain not a number', retain='many')
    b.add('min_age-negative', ['min_age', '>= 0'], 'min_age < 0', retain=2, min_age=-1)
    b.add('min_age-without-retain', ['min_age', 'retain'], 'min_age without retain', min_age=60)
    b.add('concurrency-zero', ['concurrency', '>= 1'], 'concurrency 0', drop=(source,), concurrency=0,
          **{names: [m + '-a']})
    b.add('force-not-bool', ['force'], 'force not a boolean', force='perhaps')
    b.shared(choices=[('state', 'protected')])
    # combinations
    b.add('source-and-list', ['mutually exclusive', source, names], 'two selectors', **{names: [m + '-b']})
    b.add('no-selector', ['one of the following is required', source, 'query'], 'no selector', drop=(source,))
    b.add('no-snapshot_name', ['snapshot_name'], 'snapshot_name missing', drop=('snapshot_name',))
    b.add('restored-in-bulk', ['restored', source], 'state=restored with a list selector', drop=(source,),
          state='restored', restore_name=m + '-r', **{names: [m + '-a']})
    b.add('unknown-option', ['%s_name' % source, 'Unsupported parameters'], 'misspelt option',
          **{'%s_name' % source: m})
    # resources that do not exist / are not this project's
    b.add('%s-missing' % source, [m + '-missing', 'not found'], 'no such %s' % kind)
    missing_id = str(uuid.uuid4())
    b.add('%s-missing-id' % source, [missing_id, 'not found'], 'no %s with this id' % kind, **{source: missing_id})
    b.add('%s-foreign-project' % source, [foreign_id, 'not found'], "another project's %s by id" % kind,
          **{source: foreign_id})
    b.add('%s-partly-missing' % names, [m + '-missing', 'not found'],
          'one existing and one missing %s: nothing is snapshotted' % kind, drop=(source,),
          **{names: [present_name, m + '-missing']})
    b.add('restored-missing-%s' % source, [m + '-missing', 'not found'], 'restore of a missing %s' % kind,
          state='restored', restore_name=m + '-r')
    return b


def cinder_cases(c):
    b = _snapshot_module(c, 'volume', 'volumes', 'volume_metadata', 'volume', c.volume, c.foreign_volume)
    m = c.marker
    b.add('restore_volume_type-empty', ['restore_volume_type', 'must not be empty'], 'empty volume type',
          state='restored', restore_name=m + '-r', restore_volume_type='')
    b.add('restore_availability_zone-padded', ['restore_availability_zone', 'leading or trailing whitespace'],
          'padded zone', state='restored', restore_name=m + '-r', restore_availability_zone='nova ')
    b.add('restored-without-restore_name', ['restore_name'], 'state=restored without restore_name',
          state='restored')
    return b.cases


def manila_cases(c):
    b = _snapshot_module(c, 'share', 'shares', 'share_metadata', 'share', c.share, c.foreign_share)
    m = c.marker
    b.names('share_id', m, kinds=('blank', 'trailing-space'), state='restored')
    b.add('share_id-and-restore_name', ['share_id', 'restore_name'], 'in-place and new-share restore at once',
          state='restored', share_id=m + '-missing', restore_name=m + '-r')
    b.add('restored-without-target', ['restore_name', 'share_id'], 'state=restored without a target',
          state='restored')
    return b.cases


# -- protectable_info ---------------------------------------------------------------------------------------
def protectable_cases(c):
    m = c.marker
    b = Builder(dict(cloud='localcloud-demo', resource_type='share'))
    for resource_type in ('share', 'volume'):
        for kind, make, reason in NAME_KINDS:
            b.add('protection-%s-%s' % (kind, resource_type), ['protection', reason],
                  'bad protection name (%s) listing %ss' % (kind, resource_type), resource_type=resource_type,
                  protection=make(m))
    for value in ('server', 'Share', '', 'volumes'):
        b.add('resource_type-%r' % value, ['resource_type', 'must be one of'], 'resource_type not a choice',
              resource_type=value)
    b.add('resource_type-list', ['resource_type'], 'resource_type of a wrong type', resource_type=['share'])
    b.shared(wait=False)
    b.add('cloud-int', ['cloud', 'got a int'], 'cloud of a wrong type', cloud=5)
    b.add('cloud-bool', ['cloud', 'got a bool'], 'cloud of a wrong type', cloud=True)
    b.add('cloud-empty', ['cloud', 'must not be empty'], 'empty cloud name', cloud='')
    b.add('cloud-control-char', ['cloud', 'control characters'], 'control character in the cloud name',
          cloud='localcloud-demo\x07')
    b.add('region-unknown', [m + '-region'], 'region not in the cloud', region_name=m + '-region')
    b.add('auth-not-dict', ['auth'], 'auth of a wrong type', auth='not-a-dict')
    b.add('auth_type-unknown', [m + '-plugin'], 'unknown keystoneauth plugin', auth_type=m + '-plugin')
    b.add('validate_certs-not-bool', ['validate_certs'], 'validate_certs not a boolean', validate_certs='perhaps')
    b.add('api_timeout-fraction', ['api_timeout'], 'api_timeout not an integer', api_timeout=1.5)
    for option in ('timeout', 'wait', 'protections'):
        b.add('unsupported-%s' % option, [option, 'Unsupported parameters'], 'option this module does not take',
              **{option: 5 if option != 'protections' else m})
    b.add('auth-unknown-user', [m + '-user'], 'credentials of a user that does not exist',
          cloud=dict(auth=dict(c.demo_auth, username=m + '-user', password=m + '-password'),
                     region_name='RegionOne', identity_api_version=3))
    return b.cases


# -- freezer_job --------------------------------------------------------------------------------------------
def freezer_job_cases(c):
    m = c.marker
    b = Builder(dict(cloud='localcloud-demo', resource_id=m + '-missing', backup_name=m + '-b', client_id=m + '-client',
                     timeout=30, poll_interval=0.5))
    b.names('resource_id', m)
    b.names('backup_name', m, kinds=('empty', 'leading-space', 'too-long', 'emoji', 'control-char'))
    b.names('client_id', m, kinds=('blank', 'leading-space', 'newline'))
    b.names('container', m, kinds=('empty', 'too-long'))
    b.names('restore_name', m, kinds=('trailing-space', 'control-char'), operation='restore')
    b.names('restore_backup_id', m, kinds=('empty',), operation='restore')
    b.names('restore_network', m, kinds=('leading-space',), resource_type='server', operation='restore')
    b.add('description-padded', ['description', 'leading or trailing whitespace'], 'padded job name',
          description=' ' + m)
    b.names('client_id', m, kinds=('empty',), suffix='-absent', state='absent')
    # numbers
    b.add('remove_older_than-negative', ['remove_older_than', '>= 0'], 'retention < 0', remove_older_than=-1)
    b.add('fullbackup_rotation-zero', ['fullbackup_rotation', '>= 1'], 'rotation 0', fullbackup_rotation=0)
    b.add('max_retries-negative', ['max_retries', '>= 0'], 'max_retries < 0', max_retries=-1)
    b.add('max_retries_interval-negative', ['max_retries_interval', '>= 0'], 'max_retries_interval < 0',
          max_retries_interval=-5)
    b.shared(choices=[('resource_type', 'disk'), ('operation', 'snapshot'), ('state', 'running'),
                      ('volume_mode', 'rbd'), ('storage', 'nfs')])
    # schedule
    b.add('schedule-interval-singular', ['schedule.interval', '1 day'], 'interval with a singular unit',
          schedule={'interval': '1 day'})
    b.add('schedule-interval-word', ['schedule.interval', 'daily'], 'interval that is no interval',
          schedule={'interval': 'daily'})
    b.add('schedule-cron-4-fields', ['schedule.cron', '5 fields'], 'cron with 4 fields', schedule={'cron': '0 2 * *'})
    b.add('schedule-cron-range', ['schedule.cron', 'minute'], 'cron minute 61', schedule={'cron': '61 2 * * *'})
    b.add('schedule-date-text', ['schedule.date', 'ISO 8601'], 'date that is no date', schedule={'date': 'tomorrow'})
    b.add('schedule-end-before-start', ['schedule.end_date', 'schedule.start_date'], 'end before start',
          schedule={'interval': '1 days', 'start_date': '2030-02-01T00:00:00', 'end_date': '2030-01-01T00:00:00'})
    b.add('schedule-interval-and-cron', ['schedule', 'interval', 'cron'], 'two schedule kinds',
          schedule={'interval': '1 days', 'cron': '0 2 * * *'})
    b.add('schedule-not-dict', ['schedule'], 'schedule of a wrong type', schedule='daily')
    b.add('schedule-unknown-key', ['schedule', 'every'], 'unknown schedule sub-option', schedule={'every': 'day'})
    b.add('restore_from_date-text', ['restore_from_date', 'ISO 8601'], 'restore date that is no date',
          operation='restore', restore_from_date='last tuesday')
    # extra action options
    b.add('extra-nested', ['extra_action_options.ssh_host', 'flat'], 'nested action option',
          extra_action_options={'ssh_host': {'name': m}})
    b.add('extra-managed-key', ['extra_action_options.backup_name', 'backup_name'], 'action key the module sets',
          extra_action_options={'backup_name': m + '-other'})
    b.add('extra-not-dict', ['extra_action_options'], 'extra_action_options of a wrong type',
          extra_action_options='ssh_host')
    # combinations
    b.add('operation-and-state', ['mutually exclusive', 'operation', 'state'], 'one-shot and managed at once',
          operation='backup', state='present')
    b.add('retention-both', ['mutually exclusive', 'remove_older_than', 'fullbackup_rotation'], 'two retentions',
          remove_older_than=7, fullbackup_rotation=2)
    b.add('operation-and-schedule', ['mutually exclusive', 'operation', 'schedule'], 'scheduled one-shot',
          operation='backup', schedule={'interval': '1 days'})
    b.add('no-backup_name', ['backup_name'], 'backup_name missing', drop=('backup_name',))
    b.add('no-client_id', ['client_id is required'], 'client_id missing', drop=('client_id',))
    b.add('no-resource_id', ['resource_id is required'], 'resource_id missing for a volume', drop=('resource_id',))
    # resources that do not exist / are not this project's
    b.add('volume-missing', [m + '-missing', 'not found'], 'no such volume')
    missing_id = str(uuid.uuid4())
    b.add('volume-missing-id', [missing_id, 'not found'], 'no volume with this id', resource_id=missing_id)
    b.add('volume-foreign-project', [c.foreign_volume, 'not found'], "another project's volume by id",
          resource_id=c.foreign_volume)
    b.add('project-foreign', [c.foreign_project, 'scope the connection'], "another project's tenant backup",
          resource_type='project', resource_id=c.foreign_project)
    b.add('server-missing-id', [missing_id], 'no server with this id', resource_type='server', resource_id=missing_id)
    b.add('client-unregistered', [m + '-client', 'not registered'], 'existing volume, unknown client',
          resource_id=c.volume)
    b.add('restore_backup_id-missing', [missing_id, 'restore_backup_id'], 'restore of a backup that does not exist',
          operation='restore', resource_id=c.volume, restore_backup_id=missing_id)
    return b.cases


# -- freezer_central_scheduler --------------------------------------------------------------------------------
def central_cases(c):
    m = c.marker
    b = Builder(dict(cloud='localcloud-demo', client_id=m + '-central', hostname=m + '-host'))
    b.names('client_id', m)
    b.names('client_id', m, kinds=('empty', 'blank', 'trailing-space'), suffix='-absent', state='absent')
    b.names('hostname', m)
    for capability, bad in (('supported_actions', 'snapshot'), ('supported_modes', 'rbd'),
                            ('supported_storages', 'nfs'), ('supported_engines', 'zip')):
        b.add('%s-empty' % capability, [capability, 'at least one'], 'no %s' % capability, **{capability: []})
        b.add('%s-unknown' % capability, [capability, bad], 'unknown %s' % capability, **{capability: [bad]})
    b.shared(wait=False, choices=[('state', 'registered')])
    b.add('report_jobs-not-bool', ['report_jobs'], 'report_jobs not a boolean', report_jobs='perhaps')
    b.add('no-client_id', ['client_id'], 'client_id missing', drop=('client_id',))
    b.add('present-without-hostname', ['hostname'], 'state=present without hostname', drop=('hostname',))
    b.add('unsupported-timeout', ['timeout', 'Unsupported parameters'], 'option this module does not take',
          timeout=5)
    b.add('member-cannot-register', [m + '-central', '403'], 'a project member registering a central client')
    return b.cases


# -- k8s_pod_protect ------------------------------------------------------------------------------------------
def k8s_pod_cases(c):
    m = c.marker
    b = Builder(dict(cloud='localcloud-demo', kubeconfig=c.kubeconfig, bank={'path': c.bank}, pod=m + '-pod',
                     namespace=m + '-ns', backup_name=m + '-b', timeout=30, poll_interval=0.5))
    b.names('pod', m)
    b.names('namespace', m)
    b.names('backup_name', m, kinds=('empty', 'blank', 'leading-space', 'too-long', 'control-char'))
    b.names('restore_name', m, kinds=('empty', 'trailing-space', 'emoji'), state='restored')
    b.names('restore_namespace', m, kinds=('blank', 'newline', 'too-long'), state='restored')
    b.add('pod-uppercase', ['pod', 'not a valid Kubernetes pod name'], 'uppercase pod name', pod=m.upper())
    b.add('namespace-underscore', ['namespace', 'not a valid Kubernetes namespace name'], 'underscore in namespace',
          namespace=m.replace('-', '_'))
    b.add('namespace-64', ['namespace', 'at most 63'], 'namespace longer than a DNS label',
          namespace=(m + '-' + 'n' * 70)[:64])
    b.add('restore_namespace-dot', ['restore_namespace', 'not a valid Kubernetes namespace name'],
          'dot in a namespace', state='restored', restore_namespace=m + '.r')
    b.add('restore_name-trailing-dash', ['restore_name', 'not a valid Kubernetes pod name'], 'name ending in -',
          state='restored', restore_name=m + '-')
    b.shared(choices=[('state', 'snapshotted'), ('backup_mode', 'clone'), ('on_collision', 'overwrite')])
    b.add('kubeconfig-int', ['kubeconfig', 'got a int'], 'kubeconfig of a wrong type', kubeconfig=5)
    b.add('kubeconfig-missing-file', ['kubeconfig', m + '-kubeconfig'], 'kubeconfig file that does not exist',
          kubeconfig='/nonexistent/%s-kubeconfig' % m)
    b.add('context-unknown', [m + '-ctx'], 'context not in the kubeconfig', context=m + '-ctx')
    b.add('bank-type', ['bank', 'ftp'], 'bank type not a choice', bank={'type': 'ftp'})
    b.add('bank-not-dict', ['bank'], 'bank of a wrong type', bank='local')
    b.add('bank-container-slash', ['bank.container', "'/'"], 'slash in the Swift container', bank={
        'type': 'swift', 'container': m + '/sub'})
    b.add('bank-container-empty', ['bank.container', 'must not be empty'], 'empty Swift container',
          bank={'type': 'swift', 'container': ''})
    b.add('force-not-bool', ['force'], 'force not a boolean', force='perhaps')
    b.add('no-pod', ['pod'], 'pod missing', drop=('pod',))
    b.add('no-backup_name', ['backup_name'], 'backup_name missing', drop=('backup_name',))
    b.add('pod-missing', ['%s-ns/%s-pod' % (m, m), 'not found'], 'no such pod')
    b.add('restore-without-checkpoint', ['%s-ns/%s-pod' % (m, m), m + '-b', 'no available checkpoint'],
          'restore of a protection that has no checkpoint', state='restored')
    b.add('retain-negative', ['retain must be >= 1'], 'a negative retain', retain=-2)
    b.add('min_age-without-retain', ['min_age', 'set retain as well'], 'min_age alone', min_age=60)
    return b.cases


# -- k8s_app_protect ------------------------------------------------------------------------------------------
def k8s_app_cases(c):
    m = c.marker
    b = Builder(dict(cloud='localcloud-demo', kubeconfig=c.kubeconfig, bank={'path': c.bank}, namespace=m + '-ns',
                     label_selector='app=' + m, protection=m + '-p', timeout=30, poll_interval=0.5))
    b.names('namespace', m, kinds=('empty', 'blank', 'trailing-space', 'too-long', 'newline'))
    b.names('protection', m, kinds=('empty', 'leading-space', 'emoji'))
    b.names('label_selector', m, kinds=('empty', 'blank', 'control-char'))
    b.add('no-selection', ['needs a selection', 'whole_namespace', 'label_selector', 'pods'],
          'state=present with nothing selected', drop=('label_selector',))
    b.add('pods-empty', ['pods', 'empty'], 'an empty pod list', drop=('label_selector',), pods=[])
    b.add('pods-uppercase', ['pods', 'not a valid Kubernetes pod name'], 'uppercase pod name',
          drop=('label_selector',), pods=[m.upper()])
    b.add('two-selections', ['mutually exclusive', 'label_selector', 'pods'], 'selector and pods together',
          pods=[m + '-pod'])
    b.add('whole-and-selector', ['mutually exclusive', 'whole_namespace'], 'whole namespace and a selector',
          whole_namespace=True)
    b.add('namespace_map-other', ['namespace_map', m + '-other'], 'mapping a namespace that is not the protection\'s',
          state='restored', namespace_map={m + '-other': m + '-copy'})
    b.add('namespace_map-bad-target', ['namespace_map', 'not a valid Kubernetes namespace name'],
          'mapping to an invalid namespace name', state='restored', namespace_map={m + '-ns': m + '_copy'})
    b.add('namespace_map-not-dict', ['namespace_map'], 'namespace_map of a wrong type', state='restored',
          namespace_map='copy')
    b.add('kind-bad', ['exclude_kinds', 'must be one or more of'], 'a kind that is not optional',
          exclude_kinds=['PersistentVolumeClaim'])
    b.shared(choices=[('state', 'snapshotted'), ('backup_mode', 'clone'), ('on_collision', 'overwrite')])
    b.add('namespace-uppercase', ['namespace', 'not a valid Kubernetes namespace name'], 'uppercase namespace',
          namespace=m.upper())
    b.add('namespace-64', ['namespace', 'at most 63'], 'namespace longer than a DNS label',
          namespace=(m + '-' + 'n' * 70)[:64])
    b.add('pods-padded', ['pods', 'leading or trailing whitespace'], 'padded pod name', drop=('label_selector',),
          pods=[' ' + m])
    b.add('include-kind-bad', ['include_kinds', 'must be one or more of'], 'include a kind that is not optional',
          include_kinds=['Pod'])
    b.add('kubeconfig-int', ['kubeconfig', 'got a int'], 'kubeconfig of a wrong type', kubeconfig=5)
    b.add('kubeconfig-missing-file', ['kubeconfig', m + '-kubeconfig'], 'kubeconfig file that does not exist',
          kubeconfig='/nonexistent/%s-kubeconfig' % m)
    b.add('bank-type', ['bank', 'ftp'], 'bank type not a choice', bank={'type': 'ftp'})
    b.add('bank-not-dict', ['bank'], 'bank of a wrong type', bank='local')
    b.add('skip-not-bool', ['skip_unprotectable'], 'skip_unprotectable not a boolean', skip_unprotectable='perhaps')
    b.add('whole-not-bool', ['whole_namespace'], 'whole_namespace not a boolean', whole_namespace='perhaps')
    b.add('no-namespace', ['namespace'], 'namespace missing', drop=('namespace',))
    b.add('no-protection', ['protection'], 'protection missing', drop=('protection',))
    b.add('namespace-missing', ['namespace %s-ns not found' % m], 'no such namespace')
    b.add('restore-without-checkpoint', [m + '-ns', m + '-p', 'no available checkpoint'],
          'restore of a protection that has no checkpoint', state='restored')
    b.add('retain-zero', ['retain must be >= 1'], 'retain 0', retain=0)
    b.add('min_age-without-retain', ['min_age', 'set retain as well'], 'min_age alone', min_age=60)
    b.add('min_age-negative', ['min_age must be >= 0'], 'a negative min_age', retain=2, min_age=-1)
    b.add('encrypt-without-key', ['encrypt_secrets needs secrets_key'], 'encrypt_secrets without a passphrase',
          encrypt_secrets=True)
    b.add('secrets_key-short', ['secrets_key is shorter than 12'], 'a passphrase too short to resist guessing',
          encrypt_secrets=True, secrets_key='x7q-9')
    b.add('encrypt-not-bool', ['encrypt_secrets'], 'encrypt_secrets not a boolean', encrypt_secrets='perhaps')
    freeze = dict(command=['fsfreeze', '--freeze', '/data'])
    b.add('hooks-command-empty', ['hooks.pre[0].command is empty'], 'a pre hook without command',
          hooks={'pre': [dict(command=[])]})
    b.add('hooks-command-missing', ['command', 'pre'], 'a pre hook without the command key',
          hooks={'pre': [dict(container='db')]})
    b.add('hooks-on_error-bad', ['on_error', 'must be one of'], 'on_error not fail or continue',
          hooks={'post': [dict(freeze, on_error='ignore')]})
    b.add('hooks-timeout-negative', ['hooks.pre[0].timeout must be > 0'], 'a negative hook timeout',
          hooks={'pre': [dict(freeze, timeout=-5)]})
    b.add('hooks-timeout-text', ['timeout'], 'a hook timeout that is not a number',
          hooks={'pre': [dict(freeze, timeout='soon')]})
    b.add('hooks-unknown-key', ['hooks', 'phase'], 'an unknown hooks key', hooks={'phase': 'pre'})
    b.add('hooks-container-blank', ['hooks.post[0].container is empty'], 'a blank hook container',
          hooks={'post': [dict(freeze, container=' ')]})
    return b.cases


# -- checkpoint_info ------------------------------------------------------------------------------------------
def checkpoint_cases(c):
    m = c.marker
    b = Builder(dict(bank={'path': c.bank}))
    b.names('checkpoint_id', m)
    b.names('plugin', m)
    b.names('backup_name', m, kinds=('empty', 'blank', 'leading-space', 'too-long', 'emoji', 'control-char'))
    b.names('resource', m, kinds=('empty', 'trailing-space', 'too-long', 'newline'))
    for value in ('../' + m, m + '/index.json', '..'):
        b.add('checkpoint_id-path-%s' % value.replace('/', '_'), ['checkpoint_id', 'not a checkpoint id'],
              'checkpoint_id with a path', checkpoint_id=value)
    b.add('status-bad-choice', ['status', 'must be one of'], 'status not a choice', status='done')
    b.add('bank-type', ['bank', 'ftp'], 'bank type not a choice', bank={'type': 'ftp'})
    b.add('bank-unknown-key', ['bank', 'bucket'], 'unknown bank sub-option', bank={'bucket': m})
    b.add('bank-not-dict', ['bank'], 'bank of a wrong type', bank='swift')
    b.add('bank-container-slash', ['bank.container', "'/'"], 'slash in the Swift container',
          cloud='localcloud-demo', bank={'type': 'swift', 'container': m + '/sub'})
    b.add('bank-container-long', ['bank.container', 'characters long'], 'Swift container name too long',
          cloud='localcloud-demo', bank={'type': 'swift', 'container': (m + '-' + 'c' * 300)[:256]})
    b.add('api_timeout-negative', ['api_timeout', '> 0'], 'api_timeout < 0', api_timeout=-1)
    b.add('cloud-list', ['cloud', 'got a list'], 'cloud of a wrong type', cloud=['x'])
    b.add('unsupported-timeout', ['timeout', 'Unsupported parameters'], 'option this module does not take',
          timeout=5)
    b.add('checkpoint-missing', [m + '-cp', 'not found'], 'no such checkpoint', checkpoint_id=m + '-cp')
    b.add('checkpoint-missing-swift', [m + '-cp', 'not found'], 'no such checkpoint in a Swift bank',
          cloud='localcloud-demo', bank={'type': 'swift', 'container': m + '-bank'}, checkpoint_id=m + '-cp')
    b.add('bank-path-is-a-file', [c.bank_file], 'bank path that is a file', checkpoint_id=m + '-cp',
          bank={'path': c.bank_file})
    return b.cases


GENERATORS = {CINDER: cinder_cases, MANILA: manila_cases, PROTECTABLE: protectable_cases,
              FREEZER_JOB: freezer_job_cases, CENTRAL: central_cases, K8S_POD: k8s_pod_cases, K8S_APP: k8s_app_cases,
              CHECKPOINTS: checkpoint_cases}
MODULES = (CINDER, MANILA, FREEZER_JOB, K8S_POD, K8S_APP, PROTECTABLE, CENTRAL, CHECKPOINTS)


def cases_for(module, ctx):
    cases = GENERATORS[module](ctx.for_module(module))
    ids = [c.id for c in cases]
    duplicates = sorted(set(i for i in ids if ids.count(i) > 1))
    assert not duplicates, 'duplicate case ids for %s: %s' % (module, duplicates)
    return cases
