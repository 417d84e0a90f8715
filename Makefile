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
# uv's binary beside $(PYTHON), where `make venv` pip-installs it (that directory is not on PATH). Not
# `$(PYTHON) -m uv`: that tells uv to install into $(PYTHON) itself, whatever VIRTUAL_ENV says.
UV = $(dir $(PYTHON))uv
ANSIBLE_BUNDLE := ansible==12.3.0
# Collections later roles use; only these are extracted from the bundle. community.docker declares
# community.library_inventory_filtering_v1, which the artifact's offline install needs beside it.
DEPENDENCY_COLLECTIONS := ansible/windows community/docker containers/podman community/general community/rabbitmq \
  community/library_inventory_filtering_v1
# What a leg of the version matrix changes (defaults: the main leg, ansible-core 2.19 on Python 3.11): the
# venv's lock, where the bundle's collections are extracted, ansible-test's --python and the name of the
# offline get-pip stand-in (it follows the pip version the ansible-core pins).
VENV_REQUIREMENTS := requirements/dev.txt
DEPS := $(BUILD)/deps
TEST_PYTHON := 3.11
GET_PIP := get_pip_24_2.py
# The newest leg: ansible-core 2.21 on Python 3.13 (pyenv), with its own venv, bundle and collection tree
# under .build/, so it runs beside the main leg. `make units-2.21`, `make sanity-2.21`, `make lab-2.21`.
PYENV_ROOT ?= $(HOME)/.pyenv
PYTHON_2.21 := $(firstword $(wildcard $(PYENV_ROOT)/versions/3.13.*/bin/python3.13) $(shell command -v python3.13))
LEG_2.21 := VENV=$(BUILD)/venv-2.21 PYTHON=$(PYTHON_2.21) VENV_REQUIREMENTS=requirements/ansible-2.21.txt \
  ANSIBLE_BUNDLE=ansible==14.5.0 DEPS=$(BUILD)/deps-2.21 COLLECTIONS=$(BUILD)/collections-2.21 TEST_PYTHON=3.13 \
  GET_PIP=get_pip_25_2.py

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PATH := $(VENV)/bin:$(ROOT)/node_modules/.bin:$(PATH)

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z0-9_.-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

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
	@$(VENV)/bin/python -m pip --version >/dev/null 2>&1 || VIRTUAL_ENV=$(VENV) $(UV) pip install -q pip
	@$(VENV)/bin/python -m lab.containers.build --output $(BUILD)/images

venv: $(VENV)/.installed ## Python virtual environment from requirements/dev.txt (uv, pip fallback)
$(VENV)/.installed: $(VENV_REQUIREMENTS)
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install -q uv==0.13.9
	@if $(UV) --version >/dev/null 2>&1; then \
	  $(UV) venv -q --allow-existing -p $(PYTHON) $(VENV) && VIRTUAL_ENV=$(VENV) $(UV) pip install -q -r $(VENV_REQUIREMENTS); \
	else \
	  $(PYTHON) -m venv $(VENV) && $(VENV)/bin/pip install -q -r $(VENV_REQUIREMENTS); \
	fi
	@touch $@

node_modules: node_modules/.installed ## Node packages (Azurite) from package-lock.json
node_modules/.installed: package-lock.json
	@npm ci --silent --no-audit --no-fund >/dev/null
	@touch $@

.PHONY: collections
collections: $(DEPS)/.installed tree ## dependency collections + a fresh copy of this collection

$(DEPS)/.installed: $(VENV)/.installed
	@rm -rf $(DEPS) && mkdir -p $(DEPS)
	@$(VENV)/bin/python -m pip --version >/dev/null 2>&1 || VIRTUAL_ENV=$(VENV) $(UV) pip install -q pip
	@$(VENV)/bin/python -m pip download -q --no-deps -d $(DEPS) $(ANSIBLE_BUNDLE)
	@cd $(DEPS) && $(VENV)/bin/python -m zipfile -e ansible-*.whl unpacked >/dev/null
	@touch $@

.PHONY: tree
tree: ## copy tracked + untracked-not-ignored files to the collection tree ansible-test needs
	@rm -rf $(COLLECTIONS) && mkdir -p $(COLLECTION)
	@for c in $(DEPENDENCY_COLLECTIONS); do \
	  mkdir -p $(COLLECTIONS)/ansible_collections/$$(dirname $$c); \
	  cp -r $(DEPS)/unpacked/ansible_collections/$$c $(COLLECTIONS)/ansible_collections/$$c; \
	done
	@git ls-files -z --cached --others --exclude-standard | xargs -0 -r ls -d 2>/dev/null | tr '\n' '\0' \
	  | xargs -0 -r cp --parents -t $(COLLECTION)
	@# ansible-test lists files with git. Without a repository of its own, the copy would be listed by the
	@# enclosing checkout, which ignores .build/, and every test would find nothing.
	@git -C $(COLLECTION) init -q
	@mkdir -p ~/.ansible/test/cache && cp tests/utils/get_pip_24_2.py ~/.ansible/test/cache/$(GET_PIP)

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
	  && ansible-test sanity --python $(TEST_PYTHON) --local $(SANITY_ARGS) $(or $(SANITY_TARGETS),$$targets)
units: collections ## ansible-test units
	@cd $(COLLECTION) && ansible-test units --python $(TEST_PYTHON) --local $(UNITS_ARGS)
integration: collections ## ansible-test integration (needs `make services`); TARGET=name for one
	@bash tests/write-integration-config.sh $(COLLECTION)/tests/integration/integration_config.yml
	@cd $(COLLECTION) && ansible-test integration --python $(TEST_PYTHON) --local $(TARGET)
molecule: collections ## molecule scenarios (extensions/molecule: localhost, and podman with `make images`)
	@$(MAKE) -s molecule-in-tree
pytest: collections ## plain pytest: lab tests and functional tests
	@$(MAKE) -s pytest-in-tree
# The same on the collection tree as it is, without rebuilding it: the test command runs both side by side.
.PHONY: molecule-in-tree pytest-in-tree
molecule-in-tree:
	@cd $(COLLECTION) && molecule test --all
pytest-in-tree:
	@cd $(COLLECTION) && python -m pytest $(PYTEST_ARGS)

.PHONY: python-2.21 collections-2.21 sanity-2.21 units-2.21 lab-2.21 artifact artifact-2.21 lock-2.21
# The lab end-to-end tests: real ansible-playbook against lab instances (the demo, the instance role, instance_info).
LAB_E2E := tests/functional/test_demo.py tests/functional/test_instance_role_lab.py tests/functional/test_instance_info_lab.py
python-2.21:
	@test -n "$(PYTHON_2.21)" || { echo "No Python 3.13 found (pyenv install 3.13, or python3.13 on PATH)."; exit 1; }
collections-2.21: python-2.21 ## the 2.21 leg's venv (.build/venv-2.21), dependency collections and collection tree
	@$(MAKE) -s collections $(LEG_2.21)
sanity-2.21: python-2.21 ## ansible-test sanity on ansible-core 2.21 (Python 3.13)
	@$(MAKE) -s sanity $(LEG_2.21)
units-2.21: python-2.21 ## ansible-test units on ansible-core 2.21 (Python 3.13)
	@$(MAKE) -s units $(LEG_2.21)
lab-2.21: python-2.21 ## the lab end-to-end tests (demo, instance role, instance_info) on ansible-core 2.21
	@$(MAKE) -s pytest $(LEG_2.21) PYTEST_ARGS="$(LAB_E2E)"
artifact: collections ## the released artifact as users use it: build, install offline into an empty path, run the demo
	@VENV=$(VENV) DEPS=$(DEPS) COLLECTION=$(COLLECTION) BUILD=$(BUILD) bash tests/artifact.sh demo
artifact-2.21: python-2.21 ## the same on ansible-core 2.21, with the `ansible` 14 package's collections beside it
	@$(MAKE) -s artifact $(LEG_2.21)
lock-2.21: python-2.21 ## re-pin requirements/ansible-2.21.txt from requirements/ansible-2.21.in
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install -q uv==0.13.9
	@$(UV) venv -q -p $(PYTHON_2.21) $(BUILD)/lockvenv \
	  && VIRTUAL_ENV=$(BUILD)/lockvenv $(UV) pip install -q -r requirements/ansible-2.21.in
	@{ sed -n '1,2p' requirements/ansible-2.21.txt; VIRTUAL_ENV=$(BUILD)/lockvenv $(UV) pip freeze; } \
	  > requirements/ansible-2.21.txt.new
	@mv requirements/ansible-2.21.txt.new requirements/ansible-2.21.txt && rm -rf $(BUILD)/lockvenv

# Release checks (docs/releasing.md), with the release tools of the 2.21 leg's venv.
.PHONY: changelog-lint docs-lint ee changelog-release _changelog-lint _docs-lint _ee
changelog-lint: python-2.21 ## antsibull-changelog lint of the fragments; a trial release renders CHANGELOG.md
	@$(MAKE) -s _changelog-lint $(LEG_2.21)
_changelog-lint: venv
	@python tests/release_checks.py changelog
docs-lint: python-2.21 ## antsibull-docs lint-collection-docs of every plugin and role
	@$(MAKE) -s _docs-lint $(LEG_2.21)
_docs-lint: collections
	@python tests/release_checks.py docs $(COLLECTION)
ee: python-2.21 ## execution environment: `ansible-builder create` from examples/, introspected on the installed artifact
	@$(MAKE) -s _ee $(LEG_2.21)
_ee: collections
	@VENV=$(VENV) DEPS=$(DEPS) COLLECTION=$(COLLECTION) BUILD=$(BUILD) bash tests/artifact.sh install $(BUILD)/ee/collections
	@rm -rf $(BUILD)/ee/context && ansible-builder create -f examples/execution-environment.yml -c $(BUILD)/ee/context \
	  --output-filename Containerfile >/dev/null
	@python tests/release_checks.py ee $(BUILD)/ee/context $(BUILD)/ee/collections
changelog-release: venv ## the release step of docs/releasing.md: fragments into changelogs/changelog.yaml and CHANGELOG.md
	@antsibull-changelog release

.PHONY: build
build: collections ## build the Galaxy artifact into .build/dist
	@ansible-galaxy collection build --force --output-path $(BUILD)/dist $(ROOT)

.PHONY: lock
lock: ## re-pin requirements/dev.txt from requirements/dev.in
	@$(UV) venv -q -p $(PYTHON) $(BUILD)/lockvenv && VIRTUAL_ENV=$(BUILD)/lockvenv $(UV) pip install -q -r requirements/dev.in
	@{ sed -n '1,2p' requirements/dev.txt; VIRTUAL_ENV=$(BUILD)/lockvenv $(UV) pip freeze; } > requirements/dev.txt.new
	@mv requirements/dev.txt.new requirements/dev.txt && rm -rf $(BUILD)/lockvenv

.PHONY: clean
clean: ## remove everything make built (keeps services' state if running)
	@rm -rf $(VENV) node_modules $(BUILD)/collections $(BUILD)/deps $(BUILD)/dist tests/output
	@rm -rf $(BUILD)/venv-2.21 $(BUILD)/deps-2.21 $(BUILD)/collections-2.21 $(BUILD)/artifact $(BUILD)/ee
