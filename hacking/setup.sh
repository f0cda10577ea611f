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
.venv/bin/uv pip install --quiet --python .venv/bin/python -r requirements-dev.lock

# Make the collection importable as dataprotection.openstack (ansible-playbook, ansible-doc, pytest).
mkdir -p .venv/collections/ansible_collections/dataprotection
ln -sfn "$ROOT" .venv/collections/ansible_collections/dataprotection/openstack

# ansible-test bootstraps pip from a host that is unreachable here: give it the offline stand-in.
PIP_VERSION=$(grep -oP "^\s*pip='\K[\d.]+" .venv/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -1)
if [ -n "$PIP_VERSION" ]; then
    mkdir -p ~/.ansible/test/cache
    cp hacking/get_pip_offline.py ~/.ansible/test/cache/get_pip_${PIP_VERSION//./_}.py
fi

# Debian packages the molecule scenario's target host needs (sshd in a network namespace, TCP forwards),
# and systemd for `systemd-analyze verify` of the role's unit (this machine has no systemd as PID 1).
DEB_PACKAGES="openssh-server socat iproute2 systemd"
missing=$(for p in $DEB_PACKAGES; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"; done)
if [ -n "$missing" ]; then
    echo "setup: installing Debian packages: $missing"
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The local cloud's own virtualenv and Debian packages (RabbitMQ, MariaDB...).
if [ -f localcloud/run.py ]; then
    python3 localcloud/run.py install
fi
echo "setup: done"
