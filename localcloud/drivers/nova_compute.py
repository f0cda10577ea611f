"""nova-compute with the local cloud's virt driver (stdlib + nova; run with the services venv).

Nova loads ``compute_driver`` only from the ``nova.virt`` package, so this launcher makes
``localcloud.drivers.nova_fake`` importable as ``nova.virt.localcloud_fake`` and then runs the
stock ``nova-compute`` entry point (``compute_driver = localcloud_fake.LocalCloudFakeDriver``).
"""

import sys

from nova.cmd import compute  # noqa: I100 - first: nova.cmd does its monkey patching

import nova.virt
from localcloud.drivers import nova_fake

sys.modules["nova.virt.localcloud_fake"] = nova_fake
nova.virt.localcloud_fake = nova_fake

if __name__ == "__main__":
    sys.argv[0] = "nova-compute"  # the service's binary name comes from argv[0]
    sys.exit(compute.main())
