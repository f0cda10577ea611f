# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:

    # Connection options, named as in openstack.cloud so module_defaults and
    # existing clouds.yaml files carry over unchanged.
    DOCUMENTATION = r'''
options:
  cloud:
    description:
      - Name of a cloud in C(clouds.yaml), or a dict with the cloud's configuration (as openstacksdk takes it).
      - In the dict form, every value under a key that names a secret (C(password), C(token), C(secret),
        C(application_credential_secret), any key containing C(key) or C(credential)) is masked in logs,
        results and the task invocation, as O(auth) is.
      - When O(cloud) and O(auth) are both omitted, openstacksdk reads C(OS_*) environment variables and
        the file named by C(OS_CLIENT_CONFIG_FILE); a file holding a single cloud is used as is.
        This is how AWX and Tower OpenStack credentials reach the module.
    type: raw
  auth:
    description:
      - Authentication parameters (C(auth_url), C(username), C(password), C(project_name),
        C(user_domain_name), C(project_domain_name), C(token), ...), as in C(clouds.yaml).
      - Never logged or returned.
    type: dict
  auth_type:
    description:
      - Keystone authentication plugin, for example C(password), C(v3token), C(v3applicationcredential).
    type: str
  region_name:
    description:
      - Region of the cloud.
    type: str
  interface:
    description:
      - Endpoint interface to use from the service catalog.
    type: str
    default: public
    choices: [public, internal, admin]
    aliases: [endpoint_type]
  validate_certs:
    description:
      - Whether to verify TLS certificates. Defaults to the cloud configuration (verification on).
    type: bool
    aliases: [verify]
  ca_cert:
    description:
      - Path to a CA bundle used to verify the API's TLS certificates.
    type: str
    aliases: [cacert]
  client_cert:
    description:
      - Path to a client TLS certificate.
    type: str
    aliases: [cert]
  client_key:
    description:
      - Path to the private key of O(client_cert).
    type: str
    aliases: [key]
  api_timeout:
    description:
      - Seconds one API request may take to connect, and to wait between bytes of the answer (every request the
        module makes - Keystone, Cinder, Manila, Swift, freezer-api, and the Kubernetes API in modules that talk
        to both). Independent of the C(timeout) of waiting modules.
      - When neither this option nor the cloud's configuration (C(api_timeout) in C(clouds.yaml)) sets it,
        30 seconds, so an endpoint that accepts a connection and never answers fails the task instead of
        hanging it. Must be greater than 0.
    type: int
  sdk_log_path:
    description:
      - Path to the log file of openstacksdk and keystoneauth, for debugging API calls. If empty, no log is written.
      - A new file is created with mode 0600; an existing file is appended to and keeps its mode.
      - keystoneauth never logs the authentication request, so the password or application credential secret given
        in O(auth) or O(cloud) does not appear, and it logs tokens in request headers only as their SHA-256 hash.
        With O(sdk_log_level=DEBUG) the bodies of the other requests and of the answers are logged as sent - for
        example a Freezer job's action options and freezer-api's trust ids - so keep the file private.
    type: str
  sdk_log_level:
    description:
      - Log level of openstacksdk and keystoneauth in O(sdk_log_path). V(DEBUG) logs every request and answer.
    type: str
    default: INFO
    choices: [INFO, DEBUG]
  cache_dir:
    description:
      - Directory where the tasks of a run share what they would otherwise each ask again (see O(discovery_cache_ttl)
        and O(token_cache)).
      - Created with mode 0700. A directory that another user owns, or that group or others can access, is not used
        (the task warns and asks the services as usual). Reading or writing the cache never fails a task.
      - Defaults to C($XDG_CACHE_HOME/dataprotection.openstack), else C(~/.cache/dataprotection.openstack). In AWX,
        point it at a path inside the job's private directory to share it within one job only.
      - Also read from the environment variable E(DATAPROTECTION_OPENSTACK_CACHE_DIR).
    type: path
  discovery_cache_ttl:
    description:
      - Seconds a service's version discovery document (the public list of API versions and microversions,
        the same for every user) is reused by later tasks from O(cache_dir) instead of being fetched again. Cinder's
        takes three requests per task, so a no-op task makes 4 requests instead of 6 with it.
      - V(0) turns the discovery cache off.
      - Also read from the environment variable E(DATAPROTECTION_OPENSTACK_DISCOVERY_CACHE_TTL).
    type: int
    default: 600
  token_cache:
    description:
      - Reuse the Keystone token of an earlier task with the same credentials, from O(cache_dir), until it is about
        to expire (then a new one is requested and stored). A no-op task then makes only its lookups.
      - Tokens are stored one file per credential set, mode 0600, named by keystoneauth's hash of the auth URL, user,
        project or domain or system scope, trust and secret, so different credentials (including a wrong password)
        never reuse a token. A token file is a bearer credential until the token expires; it is never logged or
        returned. Keystone invalidates it as usual (a revoked token is refused and the task authenticates again).
      - Off by default. Also read from the environment variable E(DATAPROTECTION_OPENSTACK_TOKEN_CACHE).
    type: bool
    default: false
requirements:
  - python >= 3.11
  - openstacksdk >= 4.0.0
'''
