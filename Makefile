# Every target creates .venv on first use (make setup).
VENV   ?= .venv
PYTHON := $(VENV)/bin/python
SUBMISSION ?= assignment

.PHONY: help setup test test-fast audit train grade doctor collect grade-all written export feedback release template grader-repo classroom50 gradescope lint-workflows bench clean
.DEFAULT_GOAL := help

# Every target is listed by `make help` (tests/lab/test_cli.py checks that none is left out).
help:
	@echo "make help                     this list"
	@echo "make setup [INSTALLER=uv|pip]  create .venv and install the lab, the grader and the tools (every target does it first; INSTALLER: for a new .venv)"
	@echo "make test [JOBS=2]            this repository's tests, both tiers, in JOBS parallel processes"
	@echo "make test-fast                the fast tier only: pure functions on hand-made data, no subprocess (under a minute)"
	@echo "make audit [OUT=dir] [JOBS=2]  mutation-test the checks + the catalogues (report: outputs/audit/)"
	@echo "make grade [SUBMISSION=dir]   grade a submission (default: assignment)"
	@echo "make doctor                   what isolation this machine gives student code, and why"
	@echo "make train                    train the reference solution (needs Fashion-MNIST in solutions/.data)"
	@echo "make release                  regenerate assignment/ from solutions/ with nbgrader"
	@echo "make collect ROSTER=csv DEADLINE=iso OUT=dir [JOBS=4]   every student's repository as it stood at the deadline"
	@echo "make grade-all SUBMISSIONS=dir OUT=dir [JOBS=2] [GRADEBOOK=course/gradebook.db]   grade a whole class"
	@echo "make written COLLECTED=dir COURSE=dir   the notebooks into nbgrader's gradebook to grade the written answers (runs no student code)"
	@echo "make export GRADES=dir ROSTER=csv FORMAT=canvas|moodle [TITLE=\"Lab 6\"] [OUT=file]   the LMS grade import from grades.csv"
	@echo "make feedback GRADES=dir OUT=dir [COLLECTED=dir] [GRADEBOOK=db] [ROSTER=csv PUSH=1]   one feedback file per student (PUSH=1: FEEDBACK.md on their 'feedback' branch)"
	@echo "make template OUT=dir [GRADER_REPO=owner/name]    the student repository, with on-push grading"
	@echo "make grader-repo OUT=dir      the instructor's private repository of hidden checks"
	@echo "make classroom50 OUT=dir      the Classroom 50 autograder folder"
	@echo "make gradescope OUT=dir       Gradescope's autograder.zip"
	@echo "make lint-workflows           actionlint on the student workflow (platforms/github/grade.yml)"
	@echo "make bench                    the speed benchmarks (figures in README.md)"
	@echo "make clean                    remove .venv, outputs/ and results.json"
	@echo "(the instructor's tools are one command line, which these targets call: python -m autograder --help)"

setup: $(VENV)/.installed

# torch and torchvision are installed together from the package index: its
# torchvision only works with its own torch build.
# INSTALLER=uv (the default) or pip, from the command line only (an INSTALLER in the environment is
# someone else's), for a new .venv (make clean first).  Both install the same versions of the same
# packages (benchmarks/bench_setup.py compares them each time it runs); uv downloads and unpacks on
# every core, pip one file at a time (figures in README.md, Development).  uv reads none of pip's
# configuration but its timeout (PIP_DEFAULT_TIMEOUT), passed on here.  Where uv cannot install (no
# wheel of uv for this machine: it is never built from source; an index only pip is configured for),
# pip does, after one line that says so.
ifneq ($(origin INSTALLER),command line)
INSTALLER := uv
endif
ifeq ($(filter $(INSTALLER),uv pip),)
$(error INSTALLER must be uv or pip, not '$(INSTALLER)')
endif
UV_VERSION := 0.13.9
PIP_SETUP = $(VENV)/bin/pip install --quiet --upgrade pip && $(VENV)/bin/pip install --quiet --no-compile -e '.[dev]'
UV_SETUP = $(VENV)/bin/pip install --quiet --only-binary=:all: 'uv==$(UV_VERSION)' && \
	UV_HTTP_TIMEOUT=$${PIP_DEFAULT_TIMEOUT:-180} $(VENV)/bin/uv pip install --quiet --python $(PYTHON) -e '.[dev]'

$(VENV)/.installed: pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)   # never re-create an existing venv (another python3 may be on PATH)
ifeq ($(INSTALLER),pip)
	$(PIP_SETUP)
else
	{ $(UV_SETUP); } || { echo "make setup: uv could not install the packages; pip installs them instead (slower)" >&2; $(PIP_SETUP); }
endif
	@# Both install without compiling (pip would compile one file at a time: a minute for torch's 13k
	@# modules); compileall writes the same .pyc files on every core.  Like pip, it leaves a module that
	@# does not compile (torch ships a few for newer Pythons) to be compiled when imported: hence -qq and
	@# `|| true`.
	@# It skips the installed packages' own test suites (their folders test/ and tests/: 2,300 of
	@# 12,900 modules, sympy's, scipy's, scikit-learn's...), which nothing here imports: 25 s instead
	@# of 34 s on one new .venv, one run each.
	$(PYTHON) -m compileall -qq -j 0 -x "/site-packages/(.+/)?tests?/" "$$($(PYTHON) -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" || true
	touch $@

# Two tiers: tests marked `slow` start processes (grading workers, sandboxes, nbgrader, git,
# training runs) or need torch; the rest are pure functions on hand-made data (make test-fast).
# make test runs both in JOBS pytest-xdist workers (default 2: one per core of the machine the
# budgets were measured on; more workers than cores makes the timed tests compete for the CPU),
# a file to a worker (its module-scoped fixtures are built once: see tests/conftest.py).
test: setup
	$(PYTHON) -m pytest -q -n $(or $(JOBS),2) --dist loadfile

test-fast: setup
	$(PYTHON) -m pytest -q -m "not slow"

audit: setup
	$(PYTHON) -m autograder audit --out $(or $(OUT),outputs/audit) --jobs $(or $(JOBS),2)

train: setup
	cd solutions && ../$(PYTHON) -m lab6_generative.train_vae

grade: setup
	$(PYTHON) -m autograder grade $(SUBMISSION)

doctor: setup
	$(PYTHON) -m autograder doctor

collect: setup
	@test -n "$(ROSTER)" -a -n "$(DEADLINE)" -a -n "$(OUT)" || { echo "usage: make collect ROSTER=CSV DEADLINE=2026-12-01T23:59:00+01:00 OUT=DIR [JOBS=N] [ON_TIME_ONLY=1]"; exit 2; }
	$(PYTHON) -m autograder collect $(ROSTER) --deadline "$(DEADLINE)" --out $(OUT) --jobs $(or $(JOBS),4) $(if $(ON_TIME_ONLY),--on-time-only)

grade-all: setup
	@test -n "$(SUBMISSIONS)" -a -n "$(OUT)" || { echo "usage: make grade-all SUBMISSIONS=DIR OUT=DIR [JOBS=N] [GRADEBOOK=FILE]"; exit 2; }
	$(PYTHON) -m autograder grade-all $(SUBMISSIONS) --out $(OUT) --jobs $(or $(JOBS),2) $(if $(GRADEBOOK),--gradebook $(GRADEBOOK))

written: setup
	@test -n "$(COLLECTED)" -a -n "$(COURSE)" || { echo "usage: make written COLLECTED=DIR COURSE=DIR"; exit 2; }
	$(PYTHON) -m autograder written $(COLLECTED) --course $(COURSE)

export: setup
	@test -n "$(GRADES)" -a -n "$(ROSTER)" -a -n "$(FORMAT)" || { echo "usage: make export GRADES=DIR ROSTER=CSV FORMAT=canvas|moodle [TITLE=\"Lab 6\"] [OUT=FILE]"; exit 2; }
	$(PYTHON) -m autograder export $(GRADES) --roster $(ROSTER) --format $(FORMAT) $(if $(TITLE),--title "$(TITLE)") $(if $(OUT),--out "$(OUT)")

feedback: setup
	@test -n "$(GRADES)" -a -n "$(OUT)" || { echo "usage: make feedback GRADES=DIR OUT=DIR [COLLECTED=DIR] [GRADEBOOK=FILE] [ROSTER=CSV PUSH=1]"; exit 2; }
	$(PYTHON) -m autograder feedback $(GRADES) --out $(OUT) $(if $(COLLECTED),--collected $(COLLECTED)) $(if $(GRADEBOOK),--gradebook $(GRADEBOOK)) $(if $(ROSTER),--roster $(ROSTER)) $(if $(PUSH),--push)

template: setup
	@test -n "$(OUT)" || { echo "usage: make template OUT=DIR [GRADER_REPO=owner/name]"; exit 2; }
	$(PYTHON) -m autograder build template --out $(OUT) $(if $(GRADER_REPO),--grader-repo $(GRADER_REPO))

grader-repo: setup
	@test -n "$(OUT)" || { echo "usage: make grader-repo OUT=DIR"; exit 2; }
	$(PYTHON) -m autograder build grader-repo --out $(OUT)

classroom50: setup
	@test -n "$(OUT)" || { echo "usage: make classroom50 OUT=DIR"; exit 2; }
	$(PYTHON) -m autograder build classroom50 --out $(OUT)

gradescope: setup
	@test -n "$(OUT)" || { echo "usage: make gradescope OUT=DIR"; exit 2; }
	$(PYTHON) -m autograder build gradescope --out $(OUT)

lint-workflows: setup
	$(PYTHON) -m autograder lint-workflows platforms/github/grade.yml

release: setup
	$(PYTHON) -m autograder release

bench: setup
	$(PYTHON) benchmarks/bench_train.py
	$(PYTHON) benchmarks/bench_grade.py
	$(PYTHON) benchmarks/bench_sandbox.py

clean:
	rm -rf $(VENV) outputs results.json
