# Entry points (users, CI and docs rely on these names).
SHELL := /bin/bash
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(VENV)/collections
export ANSIBLE_PYTHON_INTERPRETER := $(PY)
export ANSIBLE_HOME := $(VENV)/ansible-home
LOCALCLOUD := python3 localcloud/run.py

.PHONY: setup test demo demo-target-destroy localcloud localcloud-stop localcloud-status bench bench-scale sanity units test-compat integration lint docs-check docs changelog clean

setup:  ## create .venv, install pinned tools + Debian packages, link the collection
	bash hacking/setup.sh

test:  ## every gate and test; ends with "N passed, N failed"
	$(PY) hacking/run_tests.py

sanity:
	$(PY) hacking/run_tests.py --only sanity

units:
	$(PY) hacking/run_tests.py --only units

test-compat:  ## units + smoke plays on the lowest and newest supported Python/ansible-core/openstacksdk/kubernetes (hacking/compat)
	$(PY) hacking/run_tests.py --only compat

integration:
	$(PY) hacking/run_tests.py --only integration

lint:
	$(PY) hacking/run_tests.py --only lint

docs-check:
	$(PY) hacking/run_tests.py --only docs

docs:  ## HTML docs site of the collection (antsibull-docs + Sphinx) in .tmp/docsite/build/html
	$(PY) hacking/docsite.py

changelog:  ## regenerate CHANGELOG.rst from changelogs/fragments (antsibull-changelog); `make test` checks it is current
	$(PY) hacking/changelog.py

demo: localcloud  ## start the local cloud and run playbooks/demo.yml against it (leaves the central scheduler target up)
	$(PY) hacking/demo_seed.py
	OS_CLIENT_CONFIG_FILE=$(CURDIR)/.localcloud/clouds.yaml K8S_AUTH_KUBECONFIG=$(CURDIR)/.localcloud/kubeconfig \
	  ansible-playbook -i playbooks/inventory/localhost.yml playbooks/demo.yml

demo-target-destroy:  ## remove the central scheduler's target host (network namespace) that `make demo` leaves running
	ansible-playbook -i playbooks/inventory/localhost.yml playbooks/demo_central_scheduler.yml \
	  -e demo_scheduler_target_state=absent

localcloud:
	$(LOCALCLOUD) start

localcloud-stop:
	$(LOCALCLOUD) stop

localcloud-status:
	$(LOCALCLOUD) status

bench: localcloud
	$(PY) benchmarks/run.py

bench-scale: localcloud  ## 10/100/1000 volumes in 20 projects, five ways (benchmarks/scale.py); long: (d) is a loop
	$(PY) benchmarks/scale.py

clean:
	rm -rf .tmp tests/output *.tar.gz
