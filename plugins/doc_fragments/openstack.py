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
      - Seconds to wait for one API request. Independent of the C(timeout) of waiting modules.
    type: int
requirements:
  - python >= 3.12
  - openstacksdk >= 4.0
'''
