# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:

    # Kubernetes connection options, named as in kubernetes.core; the TLS ones carry a k8s_ prefix because
    # the same modules take the OpenStack TLS options under the plain names (kubernetes.core's aliases work).
    DOCUMENTATION = r'''
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig itself as a dict.
      - In the dict form, everything under C(users[].user) (tokens, client keys, exec plugin environment) and any
        value under a key naming a secret is masked in logs, results and the task invocation.
      - Falls back to C(K8S_AUTH_KUBECONFIG), then (without O(host)) to C(KUBECONFIG) or C(~/.kube/config),
        then to the in-cluster service account.
    type: raw
  context:
    description:
      - Context of the kubeconfig to use. Falls back to C(K8S_AUTH_CONTEXT), then the current context.
    type: str
  host:
    description:
      - URL of the Kubernetes API server. Falls back to C(K8S_AUTH_HOST) (AWX bearer-token credential).
    type: str
  api_key:
    description:
      - Bearer token for the API server. Falls back to C(K8S_AUTH_API_KEY). Never logged or returned.
    type: str
  username:
    description:
      - Username for basic authentication. Falls back to C(K8S_AUTH_USERNAME).
    type: str
  password:
    description:
      - Password for basic authentication. Falls back to C(K8S_AUTH_PASSWORD). Never logged or returned.
    type: str
  k8s_validate_certs:
    description:
      - Verify the API server's TLS certificate. Falls back to C(K8S_AUTH_VERIFY_SSL), then the kubeconfig.
    type: bool
    aliases: [verify_ssl]
  k8s_ca_cert:
    description:
      - CA bundle that signed the API server's certificate. Falls back to C(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  k8s_client_cert:
    description:
      - Client certificate for the API server. Falls back to C(K8S_AUTH_CERT_FILE).
    type: path
    aliases: [cert_file]
  k8s_client_key:
    description:
      - Private key of O(k8s_client_cert). Falls back to C(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [key_file]
  proxy:
    description:
      - HTTP proxy URL for the API server. Falls back to C(K8S_AUTH_PROXY).
    type: str
  no_proxy:
    description:
      - Comma-separated hosts that bypass O(proxy). Falls back to C(K8S_AUTH_NO_PROXY).
    type: str
requirements:
  - python >= 3.11
  - kubernetes >= 36.0.1 (Python library)
notes:
  - The Kubernetes TLS options are named O(k8s_validate_certs), O(k8s_ca_cert), O(k8s_client_cert) and
    O(k8s_client_key) because C(validate_certs), C(ca_cert), C(client_cert) and C(client_key) are the OpenStack
    ones in the modules that take both. kubernetes.core's names C(verify_ssl), C(ssl_ca_cert), C(cert_file) and
    C(key_file) are aliases.
  - Every Kubernetes API request is bounded by O(api_timeout) (30 seconds when not set), for connecting and for
    each wait for the answer. A request that timed out is not sent again, and the task fails naming the API
    server and the timeout.
'''

    # api_timeout of the modules without the OpenStack options (kubernetes_timeout_argument_spec; extends
    # dataprotection.openstack.kubernetes.api_timeout). The modules with both have one api_timeout for all their
    # requests, documented by the openstack fragment. It is not in DOCUMENTATION: for an option two fragments
    # list, Ansible silently keeps the first fragment's fields, so the text a module shows would depend on the
    # order of its extends_documentation_fragment.
    API_TIMEOUT = r'''
options:
  api_timeout:
    description:
      - Seconds one Kubernetes API request may take to connect, and to wait between bytes of the answer.
      - When not set, 30 seconds, so an API server that accepts a connection and never answers fails the task
        instead of hanging it. Must be greater than 0.
    type: int
'''
