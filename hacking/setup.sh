#!/bin/bash
# `make setup`: everything the tests need, from the project's own files.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=$(hacking/find_python.sh)
echo "setup: using $PYTHON ($("$PYTHON" --version))"

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'; then
    rm -rf .venv
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
# The lock file pins every transitive dependency; requirements-dev.txt holds the direct ones.
# --compile-bytecode (uv's default is none; with PYTHONDONTWRITEBYTECODE set, as on our machines, nothing is ever
# cached either): each ansible-playbook and module run otherwise compiles what it imports, e.g. `import openstack`
# 2.0 s of CPU instead of 0.7 s, an empty play 1.6 s instead of 1.0 s. It covers the whole site-packages.
UV_INSTALL=(.venv/bin/uv pip install --quiet --compile-bytecode)
"${UV_INSTALL[@]}" --python .venv/bin/python -r requirements-dev.lock

# Make the collection importable as dataprotection.openstack (ansible-playbook, ansible-doc, pytest).
mkdir -p .venv/collections/ansible_collections/dataprotection
ln -sfn "$ROOT" .venv/collections/ansible_collections/dataprotection/openstack

# A second, small virtualenv with the oldest ansible-core the collection supports (meta/runtime.yml), for the
# tests that run the modules on both ends of the range (tests/integration/modules/test_secrets_and_timeouts.py):
# ansible-core plus the modules' runtime requirements only. It reuses .venv/collections. Rebuilt only when the
# pinned version or requirements.txt changed (the stamp records both).
CORE218_VERSION=2.18.19
CORE218_STAMP="bytecode ansible-core==$CORE218_VERSION $(sha256sum requirements.txt | cut -d' ' -f1)"
if [ "$(cat .venv-core218/.setup-stamp 2>/dev/null)" != "$CORE218_STAMP" ] \
    || ! .venv-core218/bin/python -c 'import ansible.release, kubernetes, openstack' 2>/dev/null; then
    rm -rf .venv-core218
    .venv/bin/uv venv --quiet --python "$PYTHON" .venv-core218
    "${UV_INSTALL[@]}" --python .venv-core218/bin/python "ansible-core==$CORE218_VERSION" \
        -r requirements.txt
    echo "$CORE218_STAMP" > .venv-core218/.setup-stamp
fi

# The compat environments of `make test-compat` (hacking/compat/): `lowest` and `newest` supported Python,
# ansible-core, openstacksdk, kubernetes and jmespath, each exactly as hacking/compat/<env>.txt pins it (on the
# Python its <env>.in names), in .venv/compat/<env>; the collection comes from .venv/collections. Rebuilt only
# when the lock or the interpreter changed (the stamp records both). hacking/compat/lock.sh re-resolves the locks.
compat_python() {  # $1 = X.Y -> the path of a Python X.Y (pyenv's, the system's, or one on PATH)
    local candidate path
    for candidate in "$HOME"/.pyenv/versions/"$1".*/bin/python"$1" /usr/bin/python"$1" python"$1"; do
        path=$(command -v "$candidate" 2>/dev/null) || continue
        if "$path" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$1' else 1)" 2>/dev/null; then
            echo "$path"
            return 0
        fi
    done
    echo "setup: no Python $1 for the compat environments (install it, e.g. pyenv install $1)" >&2
    return 1
}
for compat_env in lowest newest; do
    compat_lock=hacking/compat/$compat_env.txt
    compat_dir=.venv/compat/$compat_env
    compat_py=$(compat_python "$(sed -n 's/^# python: *//p' "hacking/compat/$compat_env.in")")
    compat_stamp="bytecode $("$compat_py" -c 'import sys; print(sys.version.split()[0])') $(sha256sum "$compat_lock")"
    # the stamp is written last: an interrupted build has none and is redone
    if [ "$(cat "$compat_dir/.setup-stamp" 2>/dev/null)" != "$compat_stamp" ] \
        || [ ! -x "$compat_dir/bin/ansible-playbook" ] || ! "$compat_dir/bin/python" -c '' 2>/dev/null; then
        echo "setup: building the compat environment $compat_dir ($compat_py)"
        rm -rf "$compat_dir"
        UV_PYTHON_DOWNLOADS=never .venv/bin/uv venv --quiet --python "$compat_py" "$compat_dir"
        "${UV_INSTALL[@]}" --python "$compat_dir/bin/python" -r "$compat_lock"
        echo "$compat_stamp" > "$compat_dir/.setup-stamp"
    fi
done

# ansible-test bootstraps pip from a host that is unreachable here: give it the offline stand-in.
PIP_VERSION=$(grep -oP "^\s*pip='\K[\d.]+" .venv/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -1)
if [ -n "$PIP_VERSION" ]; then
    mkdir -p ~/.ansible/test/cache
    cp hacking/get_pip_offline.py ~/.ansible/test/cache/get_pip_${PIP_VERSION//./_}.py
fi

# Debian packages the molecule scenario's target host needs (sshd in a network namespace, TCP forwards),
# and systemd for `systemd-analyze verify` of the role's unit (this machine has no systemd as PID 1);
# debootstrap + systemd-nspawn for the Debian 13 systemd target (extensions/molecule/freezer_scheduler_systemd);
# python3-venv and python3-packaging, which the role installs on its target: the namespace target shares this
# filesystem and reaches no package index, so they must be here already.
DEB_PACKAGES="openssh-server socat iproute2 systemd debootstrap systemd-container python3-packaging python3-venv"
missing=$(for p in $DEB_PACKAGES; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"; done)
if [ -n "$missing" ]; then
    echo "setup: installing Debian packages: $missing"
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The local cloud's own virtualenv and Debian packages (RabbitMQ, MariaDB...).
if [ -f localcloud/run.py ]; then
    # install, and sync + cache the slow database schemas so a cold start loads them in seconds
    python3 localcloud/run.py prepare
fi
echo "setup: done"
