# Every target creates .venv on first use (make setup).
VENV   ?= .venv
PYTHON := $(VENV)/bin/python
SUBMISSION ?= assignment

.PHONY: help setup test train grade release bench clean
.DEFAULT_GOAL := help

help:
	@echo "make test                     this repository's tests"
	@echo "make grade [SUBMISSION=dir]   grade a submission (default: assignment)"
	@echo "make train                    train the reference solution (needs Fashion-MNIST in solutions/.data)"
	@echo "make release                  regenerate assignment/ from solutions/ with nbgrader"
	@echo "make bench                    the speed benchmarks (figures in README.md)"

setup: $(VENV)/.installed

# torch and torchvision are installed together from the package index: its
# torchvision only works with its own torch build.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

test: setup
	$(PYTHON) -m pytest -q

train: setup
	cd solutions && ../$(PYTHON) -m lab6_generative.train_vae

grade: setup
	$(PYTHON) -m autograder grade $(SUBMISSION)

release: setup
	$(PYTHON) -m release.build

bench: setup
	$(PYTHON) benchmarks/bench_train.py

clean:
	rm -rf $(VENV) outputs results.json
