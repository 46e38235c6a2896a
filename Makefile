# Gough developer and CI entry points. `make test` is what CI runs (.ci/run) and what README tells users.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
# Controller Python: 3.12 or newer. PYTHON overrides; otherwise pyenv's newest 3.12, else a working python3.12.
PYTHON ?= $(shell for c in $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12 2>/dev/null | sort -rV) python3.12; do \
	  "$$c" -c '' >/dev/null 2>&1 && { command -v "$$c"; break; }; done)
BUILD := $(CURDIR)/.build
COLL := $(BUILD)/ansible_collections/gough/gough
STAMP := $(VENV)/.gough-setup-$(shell cat requirements.txt constraints.txt lab/pyproject.toml tools/ensure_debian_packages.sh | sha256sum | cut -c1-16)
ANSIBLE_TEST_PYTHON := 3.12
export ANSIBLE_COLLECTIONS_PATH := $(BUILD)
export PATH := $(BIN):$(PATH)

.PHONY: help setup test tree sanity lint units contract integration build install-check docs changelog-lint clean constraints

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s "$$(printf '\t')"

setup: $(STAMP)  ## Create .venv (Python 3.12+) with every pinned dependency and the gough-lab command

$(STAMP): requirements.txt constraints.txt lab/pyproject.toml tools/ensure_debian_packages.sh
	@test -n "$(PYTHON)" || { echo "make setup: no Python 3.12 found; set PYTHON=/path/to/python3.12" >&2; exit 1; }
	@"$(PYTHON)" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "make setup: Python 3.12 or newer is required, got " + sys.version.split()[0])'
	bash tools/ensure_debian_packages.sh
	test -x $(BIN)/python || "$(PYTHON)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-build-isolation -e lab -c constraints.txt
	$(BIN)/python tools/write_get_pip.py
	rm -f $(VENV)/.gough-setup-*
	touch $@

tree: setup  ## Lay the collection out as ansible_collections/gough/gough under .build (ansible-test needs that path), guides as extra docs
	$(BIN)/python tools/lay_tree.py $(COLL)
	$(BIN)/python tools/docsite_guides.py $(COLL)

sanity: tree  ## ansible-test sanity, every test that applies, with the venv's Python
	cd $(COLL) && ansible-test sanity --venv --python $(ANSIBLE_TEST_PYTHON) --color no

lint: tree  ## ansible-lint, production profile
	cd $(COLL) && ansible-lint --offline --profile production

UNIT_WORKERS ?= 2
units: setup  ## Unit and emulator tests (pytest; UNIT_WORKERS=2 processes, a test file stays on one)
	$(BIN)/python -m pytest tests/unit -n $(UNIT_WORKERS) --dist loadfile --durations 15

# Without MAAS_URL and MAAS_API_KEY the suite starts the lab's MAAS emulator; with them it checks that MAAS (docs/contract.md).
contract: setup  ## MAAS contract suite (tests/contract): the requests Gough depends on, against MAAS_URL/MAAS_API_KEY or the emulator
	$(BIN)/python -m pytest tests/contract -q -rxs

integration: tree  ## ansible-test integration targets (run against the lab emulators)
	cd $(COLL) && ansible-test integration --local --python $(ANSIBLE_TEST_PYTHON) --color no

build: tree  ## Build the collection tarball into .build/dist
	mkdir -p $(BUILD)/dist
	cd $(COLL) && ansible-galaxy collection build --force --output-path $(BUILD)/dist

install-check: build  ## The tarball as users get it: contents test, install into a clean ansible-core venv with dependencies from a loopback Galaxy, provision.yml on the MAAS emulator, syntax-check, ansible-doc
	bash tools/install_check.sh "$(PYTHON)" $(BUILD) $(BIN)

docs: tree  ## Build the manual (front page, guides, plugin and role reference) with antsibull-docs into docs/build/html
	bash tools/build_docs.sh $(BUILD)

changelog-lint: setup  ## Check changelog fragments
	antsibull-changelog lint

test: setup  ## Everything CI checks, in two lanes (tools/test_lanes.sh): lab nodes, stack and e2e beside units (one worker), MAAS contract, changelog, sanity, lint, build + clean install, docs, integration and molecule; then the benches
	@MAKE="$(MAKE)" bash tools/test_lanes.sh $(BUILD)

constraints:  ## Re-resolve constraints.txt from requirements.txt in a scratch venv
	rm -rf $(BUILD)/constraints-venv && "$(PYTHON)" -m venv $(BUILD)/constraints-venv
	$(BUILD)/constraints-venv/bin/pip install --quiet -r requirements.txt
	{ echo "# Full resolved set for requirements.txt (Python 3.12). Regenerate with: make constraints"; $(BUILD)/constraints-venv/bin/pip freeze; } > constraints.txt

clean:  ## Remove build output (keeps .venv)
	rm -rf $(BUILD) docs/build tests/output

bench-inventory: setup  ## Inventory plugin speed on 10,000 emulated machines (bench/inventory/run.py)
	$(BIN)/python bench/inventory/run.py $(BENCH_ARGS)

bench-compliance: setup  ## The compliance gate on 1,000 Fleet hosts and MAAS machines: time, Fleet requests, tag writes (bench/compliance/run.py)
	$(BIN)/python bench/compliance/run.py $(BENCH_ARGS)

bench-deploy: setup  ## maas_deploy on 1,000 emulated machines vs one blocking deploy per machine (bench/deploy_batch/run.py)
	$(BIN)/python bench/deploy_batch/run.py $(BENCH_ARGS)

bench-fleet: setup  ## Waiting for 500 hosts to enroll in Fleet: one run_once wait vs one wait per host (bench/fleet_enroll/run.py)
	$(BIN)/python bench/fleet_enroll/run.py $(BENCH_ARGS)

# --- Lab nodes (issue 5): the Docker engine, node images, node tests, teardown ---------------------------------
.PHONY: lab-engine
lab-engine:  ## Install and start a Docker engine for lab nodes (tools/ensure_docker.sh; needs root the first time)
	bash tools/ensure_docker.sh

.PHONY: lab-images
lab-images: lab-engine setup  ## Build the lab node images: debootstrap Debian base, then gough-lab/node (skipped when unchanged)
	$(BIN)/python -m gough_lab.images build

.PHONY: lab-test lab-down
lab-test: lab-images  ## Lab node tests against real containers (tests/lab_nodes: image, cloud-init runs, emulator deploys)
	$(BIN)/python -m pytest tests/lab_nodes -q --durations 10

lab-down:  ## Take the lab down: the stack's lab profile, every container and network labelled gough-lab=1
	@if [ -x $(BIN)/ansible-playbook ] && [ -d $(COLL) ] && docker info >/dev/null 2>&1; then \
	  $(BIN)/ansible-playbook lab/playbooks/lab.yml -e lab_state=absent -e lab_dir=$(LAB_DIR) >/dev/null || true; fi
	@if docker info >/dev/null 2>&1; then \
	  ids=$$(docker ps -aq --filter label=gough-lab=1); [ -z "$$ids" ] || docker rm -f -v $$ids >/dev/null; \
	  nets=$$(docker network ls -q --filter label=gough-lab=1); [ -z "$$nets" ] || docker network rm $$nets >/dev/null; \
	  echo "lab-down: removed $$(echo $$ids | wc -w) containers and $$(echo $$nets | wc -w) networks"; \
	else echo "lab-down: no Docker engine answers; nothing to remove"; fi

# --- Molecule scenarios (issue 17): molecule/<scenario>, each create -> converge -> idempotence -> verify -> destroy --
# The collection comes from .build (make tree), as an installed collection; the dependency collections from the
# ansible package. Per-run names (GOUGH_MOLECULE_RUN) and ephemeral directories keep parallel runs apart;
# MOLECULE_GLOB keeps the top-level molecule/ layout (docs/molecule.md says why). SCENARIOS=agent runs one.
.PHONY: molecule
SCENARIOS ?= agent fleet_enroll provision stack_lab
molecule: lab-images tree  ## Molecule scenarios (molecule/): agent, fleet_enroll, provision, stack_lab; SCENARIOS=... picks some
	@run=m$$(date +%s | tail -c 5)$$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n'); status=0; \
	for scenario in $(SCENARIOS); do \
	  echo "== molecule test -s $$scenario (run $$run)"; started=$$SECONDS; \
	  if GOUGH_MOLECULE_RUN=$$run MOLECULE_GLOB='molecule/*/molecule.yml' \
	    MOLECULE_EPHEMERAL_DIRECTORY=$(BUILD)/molecule/$$run/$$scenario $(BIN)/molecule test -s $$scenario; \
	  then echo "molecule: $$scenario passed in $$((SECONDS - started)) s"; \
	  else status=1; echo "molecule: $$scenario FAILED after $$((SECONDS - started)) s" >&2; fi; \
	done; rm -rf $(BUILD)/molecule/$$run; exit $$status

# --- The control stack (issue 8), the end-to-end flow (issues 5-7), benches ----------------------------------
.PHONY: stack-test alerts-check e2e bench bench-agent demo
alerts-check: lab-images  ## promtool and amtool on the stack's rendered alert rules, Prometheus and Alertmanager configuration (both profiles)
	$(BIN)/python tools/alerts_check.py

stack-test: lab-images  ## The stack role's lab profile for real: services healthy, TLS from Gough's CA, idempotent rerun (tests/stack)
	$(BIN)/python -m pytest tests/stack -q --durations 10

e2e: lab-images tree  ## site.yml end to end on 2 lab nodes: enlist, commission, deploy, SSH, agent, Fleet (tests/e2e)
	$(BIN)/python -m pytest -p pytest_ansible.plugin --ansible-unit-inject-only tests/e2e -q --durations 10

bench-agent: lab-images  ## gough-agent vs prometheus-node-exporter on one lab node: memory and scrape time ratios (bench/agent/run.py)
	$(BIN)/python bench/agent/run.py

bench: bench-inventory bench-deploy bench-agent bench-compliance  ## Every benchmark; each prints its ratios
bench: bench-fleet  # (an added prerequisite of bench)
bench: bench-report

.PHONY: bench-report
bench-report: setup  ## The fleet report (playbooks/report.yml) on 10,000 emulated hosts: render time and file size (bench/report/run.py)
	$(BIN)/python bench/report/run.py $(BENCH_ARGS)

# The lab's files (stack state, CA, secrets, SSH key, inventory); GOUGH_LAB_DIR moves them.
LAB_DIR ?= $(or $(GOUGH_LAB_DIR),$(HOME)/.local/share/gough-lab)
demo: lab-images tree  ## Gough's main job on the lab: stack up, 3 nodes deployed and checked, an alert drill, a backup, the fleet report; prints a table, the alert, the last backup, the earliest certificate expiry, where the report is and both parts' times (GOUGH_DEMO_PROFILE=1: every task's time)
	bash tools/demo.sh $(BIN) $(LAB_DIR)
