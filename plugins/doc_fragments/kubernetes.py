# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:

    # Kubernetes connection options, named as in kubernetes.core. The TLS options are in TLS (modules that also
    # take the OpenStack options, whose TLS options have the plain names) or TLS_PLAIN_NAMES (Kubernetes-only
    # modules, where kubernetes.core's plain names are aliases): one module extends exactly one of them.
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
  proxy:
    description:
      - HTTP proxy URL for the API server. Falls back to C(K8S_AUTH_PROXY).
    type: str
  no_proxy:
    description:
      - Comma-separated hosts that bypass O(proxy). Falls back to C(K8S_AUTH_NO_PROXY).
    type: str
  proxy_headers:
    description:
      - Headers sent to O(proxy), built with C(urllib3.util.make_headers) as kubernetes.core does.
      - Each key falls back to its C(K8S_AUTH_PROXY_HEADERS_*) variable when the option is not set.
    type: dict
    suboptions:
      proxy_basic_auth:
        description:
          - C(username:password) for the proxy's basic authentication (C(Proxy-Authorization)).
          - Falls back to C(K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH). Never logged or returned.
        type: str
      basic_auth:
        description:
          - C(username:password) for a basic C(Authorization) header.
          - Falls back to C(K8S_AUTH_PROXY_HEADERS_BASIC_AUTH). Never logged or returned.
        type: str
      user_agent:
        description:
          - C(User-Agent) header. Falls back to C(K8S_AUTH_PROXY_HEADERS_USER_AGENT).
        type: str
  impersonate_user:
    description:
      - Act as this user (C(Impersonate-User) header on every request); the credentials used need the
        C(impersonate) verb on C(users).
      - Falls back to C(K8S_AUTH_IMPERSONATE_USER).
    type: str
  impersonate_groups:
    description:
      - Act as a member of these groups (one C(Impersonate-Group) header per group).
      - Falls back to C(K8S_AUTH_IMPERSONATE_GROUPS), a comma-separated list.
    type: list
    elements: str
  persist_config:
    description:
      - Let the client write refreshed credentials (for example an expired OIDC token) back to the kubeconfig
        file. Falls back to C(K8S_AUTH_PERSIST_CONFIG).
      - When not set, the kubeconfig is never written.
    type: bool
requirements:
  - python >= 3.11
  - kubernetes >= 36.0.1 (Python library)
notes:
  - 'Mapping to kubernetes.core: C(kubeconfig), C(context), C(host), C(api_key), C(username), C(password),
    C(proxy), C(no_proxy), C(proxy_headers), C(impersonate_user), C(impersonate_groups) and C(persist_config)
    have kubernetes.core''s names, meaning and C(K8S_AUTH_*) variables. Its TLS options C(validate_certs),
    C(ca_cert), C(client_cert) and C(client_key) are O(k8s_validate_certs), O(k8s_ca_cert), O(k8s_client_cert)
    and O(k8s_client_key) here; its aliases C(verify_ssl), C(ssl_ca_cert), C(cert_file) and C(key_file) always
    work. In a module that also takes OpenStack options, C(validate_certs), C(ca_cert), C(client_cert) and
    C(client_key) configure the OpenStack side only; in a Kubernetes-only module they are aliases of the
    C(k8s_) options.'
  - Every Kubernetes API request is bounded by O(api_timeout) (30 seconds when not set), for connecting and for
    each wait for the answer. A request that timed out is not sent again, and the task fails naming the API
    server and the timeout.
'''

    # The Kubernetes TLS options of modules that also take the OpenStack options (plain names are OpenStack's).
    TLS = r'''
options:
  k8s_validate_certs:
    description:
      - Verify the Kubernetes API server's TLS certificate. Falls back to C(K8S_AUTH_VERIFY_SSL), then the
        kubeconfig.
      - Not C(validate_certs), which in this module verifies the OpenStack endpoints.
    type: bool
    aliases: [verify_ssl]
  k8s_ca_cert:
    description:
      - CA bundle that signed the Kubernetes API server's certificate. Falls back to C(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  k8s_client_cert:
    description:
      - Client certificate for the Kubernetes API server. Falls back to C(K8S_AUTH_CERT_FILE).
    type: path
    aliases: [cert_file]
  k8s_client_key:
    description:
      - Private key of O(k8s_client_cert). Falls back to C(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [key_file]
'''

    # The same for Kubernetes-only modules: kubernetes.core's plain names are aliases too.
    TLS_PLAIN_NAMES = r'''
options:
  k8s_validate_certs:
    description:
      - Verify the Kubernetes API server's TLS certificate. Falls back to C(K8S_AUTH_VERIFY_SSL), then the
        kubeconfig.
    type: bool
    aliases: [validate_certs, verify_ssl]
  k8s_ca_cert:
    description:
      - CA bundle that signed the Kubernetes API server's certificate. Falls back to C(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ca_cert, ssl_ca_cert]
  k8s_client_cert:
    description:
      - Client certificate for the Kubernetes API server. Falls back to C(K8S_AUTH_CERT_FILE).
    type: path
    aliases: [client_cert, cert_file]
  k8s_client_key:
    description:
      - Private key of O(k8s_client_cert). Falls back to C(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [client_key, key_file]
'''

    # api_timeout of the modules without the OpenStack options (args.kubernetes_timeout_argument_spec; extends
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

    # Application-consistent hooks of the Kubernetes protection modules (k8s_pod_protect, k8s_app_protect).
    HOOKS = r'''
options:
  hooks:
    description:
      - Commands run in the protected pods' containers right before (V(pre)) and right after (V(post)) the
        volume snapshots or backups, through the Kubernetes API's C(pods/exec) (as C(kubectl exec) does), e.g.
        C(fsfreeze --freeze) / C(fsfreeze --unfreeze), or a database's flush and lock, for an
        application-consistent copy. Used with O(state=present) only.
      - Every pod's pre hooks run first (in the order given), then the volumes are protected, then every pod's
        post hooks. A pod whose pre hooks started always gets its post hooks, also when a pre hook or a
        volume protection failed (so a frozen filesystem is thawed).
      - A hook fails when its command exits non-zero, cannot start, is refused (the pod is not running, the
        container does not exist) or is still running at its O(hooks.pre[].timeout) (the stream is then
        closed). With O(hooks.pre[].on_error=fail) a failed pre hook stops the protection before any volume is
        protected, and a failed post hook fails it; either way the checkpoint and what was made for it are
        removed and the message names the pod, container, command, exit code and the start of stderr.
      - Velero's pod annotations are honoured (see O(hooks.velero_annotations)).
      - Check mode runs no hook; RV(hooks) then lists the hooks a real run would run.
      - The commands are sent to the API server and returned in RV(hooks), with up to 512 characters of each
        hook's stdout and stderr. Hook output can contain secrets - do not print them, and do not put secrets
        on a command line; read them inside the container (environment, mounted files).
    type: dict
    default: {}
    suboptions:
      pre:
        description:
          - Hooks run in each selected pod before its volumes are protected.
        type: list
        elements: dict
        default: []
        suboptions: &hook_suboptions
          container:
            description:
              - Container to run the command in. Default - the pod's first container.
            type: str
          command:
            description:
              - The command and its arguments, run without a shell (use V([sh, -c, "..."]) for one).
            type: list
            elements: str
            required: true
          timeout:
            description:
              - Seconds the command may run; a command still running then is a failed hook.
              - Counted from when the command started; connecting to it is bounded by O(api_timeout).
            type: int
            default: 30
          on_error:
            description:
              - V(fail) fails the protection (a failed pre hook stops it before any volume is protected, see
                O(hooks)); V(continue) records the failure in RV(hooks) and goes on.
            type: str
            choices: [fail, continue]
            default: fail
      post:
        description:
          - Hooks run in each selected pod after its volumes are protected (or after the protection failed).
          - Same suboptions as O(hooks.pre).
        type: list
        elements: dict
        default: []
        suboptions: *hook_suboptions
      velero_annotations:
        description:
          - Honour Velero's backup hook annotations on the pods. A pod with the annotation
            C(pre.hook.backup.velero.io/command) (a JSON array such as V(["fsfreeze", "--freeze", "/data"]), or
            one word) runs that one pre hook instead of O(hooks.pre), with C(pre.hook.backup.velero.io/container)
            (default the first container), C(pre.hook.backup.velero.io/on-error) (V(Fail), the default, or
            V(Continue)) and C(pre.hook.backup.velero.io/timeout) (a duration such as V(30s) or V(1m); default
            V(30s); a value that is not a duration falls back to it with a warning in RV(hooks)); likewise
            C(post.hook.backup.velero.io/...) for the post hook.
          - V(false) ignores the annotations.
        type: bool
        default: true
'''
