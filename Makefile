# One entry point for developers and CI. `make help` lists the targets.
# Everything it builds lives in gitignored paths: .venv/, node_modules/, .build/.
SHELL := /bin/bash
.DEFAULT_GOAL := help

ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
BUILD := $(ROOT)/.build
# The collection as ansible sees it: a copy of the working tree at
# .build/collections/ansible_collections/servicecontrol/platform, with the dependency
# collections (extracted from the `ansible` package on PyPI, Galaxy being unreachable) beside it.
COLLECTIONS ?= $(BUILD)/collections
COLLECTION := $(COLLECTIONS)/ansible_collections/servicecontrol/platform
PYTHON := /root/.pyenv/versions/3.11.7/bin/python3.11
ANSIBLE_BUNDLE := ansible==12.3.0
# Collections later roles use; only these are extracted from the bundle.
DEPENDENCY_COLLECTIONS := ansible/windows community/docker containers/podman community/general community/rabbitmq

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PATH := $(VENV)/bin:$(ROOT)/node_modules/.bin:$(PATH)

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z_.-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

.PHONY: test
test: ## THE test command: install what is missing, start services, run every stage, stop services
	@bash tests/run.sh

.PHONY: demo demo-stop
demo: venv collections ## THE main job on the embedded default: BC/DR on the lab (examples/lab, Learning transport)
	@cd examples/lab && ansible-playbook dr-setup.yml
demo-stop: venv collections ## stop the lab instances `make demo` left running
	@cd examples/lab && ansible-playbook dr-stop.yml

.PHONY: setup
setup: system-deps venv node_modules collections ## install everything the tests and the demo need

.PHONY: system-deps
system-deps: ## Debian packages: RabbitMQ (management plugin), PostgreSQL, podman + runc + debootstrap, Chromium (idempotent)
	@if ! dpkg -s rabbitmq-server postgresql-15 podman runc debootstrap chromium >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server postgresql \
	    podman runc debootstrap chromium >/dev/null; \
	fi

.PHONY: images
images: venv ## the lab's stand-ins for Particular's images (podman; cached in .build/images; lab/README.md)
	@$(VENV)/bin/python -m pip --version >/dev/null 2>&1 || VIRTUAL_ENV=$(VENV) uv pip install -q pip
	@$(VENV)/bin/python -m lab.containers.build --output $(BUILD)/images

venv: $(VENV)/.installed ## Python virtual environment from requirements/dev.txt (uv, pip fallback)
$(VENV)/.installed: requirements/dev.txt
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m pip install -q uv==0.13.9
	@if command -v uv >/dev/null 2>&1; then \
	  uv venv -q --allow-existing -p $(PYTHON) $(VENV) && VIRTUAL_ENV=$(VENV) uv pip install -q -r requirements/dev.txt; \
	else \
	  $(PYTHON) -m venv $(VENV) && $(VENV)/bin/pip install -q -r requirements/dev.txt; \
	fi
	@touch $@

node_modules: node_modules/.installed ## Node packages (Azurite) from package-lock.json
node_modules/.installed: package-lock.json
	@npm ci --silent --no-audit --no-fund >/dev/null
	@touch $@

.PHONY: collections
collections: $(BUILD)/deps/.installed tree ## dependency collections + a fresh copy of this collection

$(BUILD)/deps/.installed: $(VENV)/.installed
	@rm -rf $(BUILD)/deps && mkdir -p $(BUILD)/deps
	@$(VENV)/bin/python -m pip --version >/dev/null 2>&1 || VIRTUAL_ENV=$(VENV) uv pip install -q pip
	@$(VENV)/bin/python -m pip download -q --no-deps -d $(BUILD)/deps $(ANSIBLE_BUNDLE)
	@cd $(BUILD)/deps && $(VENV)/bin/python -m zipfile -e ansible-*.whl unpacked >/dev/null
	@touch $@

.PHONY: tree
tree: ## copy tracked + untracked-not-ignored files to the collection tree ansible-test needs
	@rm -rf $(COLLECTIONS) && mkdir -p $(COLLECTION)
	@for c in $(DEPENDENCY_COLLECTIONS); do \
	  mkdir -p $(COLLECTIONS)/ansible_collections/$$(dirname $$c); \
	  cp -r $(BUILD)/deps/unpacked/ansible_collections/$$c $(COLLECTIONS)/ansible_collections/$$c; \
	done
	@git ls-files -z --cached --others --exclude-standard | xargs -0 -r ls -d 2>/dev/null | tr '\n' '\0' \
	  | xargs -0 -r cp --parents -t $(COLLECTION)
	@# ansible-test lists files with git. Without a repository of its own, the copy would be listed by the
	@# enclosing checkout, which ignores .build/, and every test would find nothing.
	@git -C $(COLLECTION) init -q
	@mkdir -p ~/.ansible/test/cache && cp tests/utils/get_pip_24_2.py ~/.ansible/test/cache/get_pip_24_2.py

.PHONY: devlink
devlink: ## .build/devlink: this working tree symlinked as servicecontrol.platform (fast local iteration)
	@mkdir -p $(BUILD)/devlink/ansible_collections/servicecontrol
	@ln -sfn $(ROOT) $(BUILD)/devlink/ansible_collections/servicecontrol/platform

.PHONY: services services-stop
services: ## start RabbitMQ, PostgreSQL, moto and Azurite on loopback
	@bash tests/services.sh start
services-stop: ## stop the services `make services` started
	@bash tests/services.sh stop

.PHONY: lint ruff ansible-lint sanity units integration molecule pytest
lint: ruff ansible-lint ## ruff + ansible-lint (production profile)
ruff:
	@ruff check . && ruff format --check --quiet .
ansible-lint: collections
	@cd $(COLLECTION) && ansible-lint -q --offline
# Sanity covers the collection: what ships plus tests/. lab/ and benchmarks/ are not part of the
# collection (galaxy.yml build_ignore) and are held to ruff's rule set instead of Ansible's module conventions.
sanity: collections ## ansible-test sanity (local venvs); SANITY_ARGS="--test x", SANITY_TARGETS="files"
	@cd $(COLLECTION) && targets=$$(find . -path ./tests/output -prune -o -path ./.git -prune -o -type f -print \
	  | sed 's|^\./||' | grep -vE '^(lab|benchmarks|examples/lab/\.state|examples/lab/dr-report)/' | sort) \
	  && ansible-test sanity --python 3.11 --local $(SANITY_ARGS) $(or $(SANITY_TARGETS),$$targets)
units: collections ## ansible-test units
	@cd $(COLLECTION) && ansible-test units --python 3.11 --local $(UNITS_ARGS)
integration: collections ## ansible-test integration (needs `make services`); TARGET=name for one
	@bash tests/write-integration-config.sh $(COLLECTION)/tests/integration/integration_config.yml
	@cd $(COLLECTION) && ansible-test integration --python 3.11 --local $(TARGET)
molecule: collections ## molecule scenarios (extensions/molecule: localhost, and podman with `make images`)
	@cd $(COLLECTION) && molecule test --all

pytest: collections ## plain pytest: lab tests and functional tests
	@cd $(COLLECTION) && python -m pytest $(PYTEST_ARGS)

.PHONY: build
build: collections ## build the Galaxy artifact into .build/dist
	@ansible-galaxy collection build --force --output-path $(BUILD)/dist $(ROOT)

.PHONY: lock
lock: ## re-pin requirements/dev.txt from requirements/dev.in
	@uv venv -q -p $(PYTHON) $(BUILD)/lockvenv && VIRTUAL_ENV=$(BUILD)/lockvenv uv pip install -q -r requirements/dev.in
	@{ sed -n '1,2p' requirements/dev.txt; VIRTUAL_ENV=$(BUILD)/lockvenv uv pip freeze; } > requirements/dev.txt.new
	@mv requirements/dev.txt.new requirements/dev.txt && rm -rf $(BUILD)/lockvenv

.PHONY: clean
clean: ## remove everything make built (keeps services' state if running)
	@rm -rf $(VENV) node_modules $(BUILD)/collections $(BUILD)/deps $(BUILD)/dist tests/output
