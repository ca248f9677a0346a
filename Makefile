# cvbook: `make book` and `make test` set up everything they need first.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
SETUP_STAMP := $(VENV)/.setup-$(shell cat lib/pyproject.toml lib/jupyter-config/jupyter_server_config.d/cvbook.json | cksum | cut -d" " -f1)
FMNIST := train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz
DEBIAN_FMNIST := /usr/share/datasets/fashion-mnist
# Jupyter, IPython and matplotlib write into ~; keep the build's state inside _build.
JUPYTER_ENV := HOME=$(CURDIR)/_build/.home JUPYTER_CONFIG_DIR=$(CURDIR)/_build/.home/.jupyter \
	IPYTHONDIR=$(CURDIR)/_build/.home/.ipython MPLCONFIGDIR=$(CURDIR)/_build/.home/.mpl \
	PYDEVD_DISABLE_FILE_VALIDATION=1
# Tools (jupyter, nbgrader's alembic, the kernel's python) come from the course environment.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup python-env data sandbox browser book test release student-edition bench vendor-widgets clean help
help:
	@echo "make book     set up, then build the book into _build/html (pages whose code changed are executed)"
	@echo "make test     set up, then run the whole test suite"
	@echo "make release  regenerate exercises/ from solutions/ (nbgrader generate_assignment)"
	@echo "make student-edition  what students receive: student-edition/ and student-edition.tar.gz"
	@echo "make bench    run the benchmarks and rewrite BENCHMARKS.md"

setup: python-env data sandbox

python-env: $(SETUP_STAMP)
$(SETUP_STAMP): lib/pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@# uv resolves from PyPI (torch 2.13.0 + torchvision 0.28.0 builds that import together) in seconds.
	@test -x $(BIN)/uv || $(PY) -m pip install --isolated --disable-pip-version-check -q uv==0.13.9
	@# Compiled bytecode: the grading sandbox reads the environment read-only (torch would import in 5 s, not 1).
	$(BIN)/uv pip install --python $(PY) -q --compile-bytecode -e "lib[course]"
	@# An editable install skips the package's data files: enable cvbook's Jupyter server extension here.
	@mkdir -p $(VENV)/etc/jupyter/jupyter_server_config.d && \
		cp lib/jupyter-config/jupyter_server_config.d/cvbook.json $(VENV)/etc/jupyter/jupyter_server_config.d/
	@rm -f $(VENV)/.setup-* && touch $@

# Fashion-MNIST, the course's default dataset: Debian ships it; install it if no copy is found.
data:
	@if $(PY) -c "import sys, cvbook.data.locate as l; sys.exit(0 if l.find_dataset_dir('fashion-mnist', required=False) else 1)" 2>/dev/null; then \
		: ; \
	elif command -v apt-get >/dev/null; then \
		echo "Installing Fashion-MNIST (Debian package dataset-fashion-mnist)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq dataset-fashion-mnist >/dev/null; \
	else \
		$(BIN)/cvbook data fetch fashion-mnist; \
	fi

# bubblewrap: the sandbox of the grading kernels (`cvbook grade` refuses to run without it).
sandbox:
	@if ! command -v bwrap >/dev/null && command -v apt-get >/dev/null; then \
		echo "Installing bubblewrap (Debian package bubblewrap)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq bubblewrap >/dev/null; \
	fi

# Headless Chromium for the browser tests (Debian's build; never a downloaded one).
browser:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then \
		echo "Installing Chromium (Debian packages chromium, chromium-driver)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

# The execution cache (_config.yml) knows a page by its code cells only, and Sphinx re-reads only
# the pages that changed: when the library or the stored results changed since the last good
# build, both are emptied and every page executes again.
EXEC_CACHE := _build/.jupyter_cache
EXEC_STAMP := _build/.jupyter_cache.built
book: setup
	@mkdir -p _build/.home
	@if [ -d $(EXEC_CACHE) ] && { [ ! -e $(EXEC_STAMP) ] || [ -n "$$(find lib book/results \( -name '*.py' -o -name '*.toml' \
		-o -path 'book/results/*' \) -type f -newer $(EXEC_STAMP) -print -quit)" ]; }; then \
		echo "The library or book/results changed since the last build: executing every page"; rm -rf $(EXEC_CACHE) _build/.doctrees; fi
	$(JUPYTER_ENV) $(BIN)/jupyter-book build . -W --keep-going && touch $(EXEC_STAMP)

# Two workers, one test file each at a time: the book build starts first and runs beside the rest.
test: setup browser
	$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder

release: setup
	$(PY) -m cvbook.grading.release

# Exercises, library and book sources, no solutions or hidden tests (see README, Students).
student-edition: setup
	$(BIN)/cvbook edition --out-dir student-edition --archive

bench: setup
	$(PY) tools/bench.py --root .

# Re-vendor the JavaScript that renders ipywidgets in the built book (see book/_static/vendor/README.md).
vendor-widgets:
	d=$$(mktemp -d) && cd $$d && npm pack -q @jupyter-widgets/html-manager@1.0.15 requirejs@2.3.8 mathjax@3.2.2 >/dev/null && \
	for f in *.tgz; do mkdir $${f%.tgz} && tar xzf $$f -C $${f%.tgz}; done && \
	cp requirejs-*/package/require.js jupyter-widgets-html-manager-*/package/dist/embed-amd.js \
	   $(CURDIR)/book/_static/vendor/ && \
	cp jupyter-widgets-html-manager-*/package/dist/*.woff* jupyter-widgets-html-manager-*/package/dist/*.ttf \
	   "$(CURDIR)/book/_static/vendor/widget-fonts/book/@jupyter-widgets/html-manager/dist/" && \
	mkdir -p $(CURDIR)/book/_static/vendor/mathjax/es5/output/chtml/fonts && \
	cp mathjax-*/package/es5/tex-mml-chtml.js $(CURDIR)/book/_static/vendor/mathjax/es5/ && \
	cp -r mathjax-*/package/es5/output/chtml/fonts/woff-v2 $(CURDIR)/book/_static/vendor/mathjax/es5/output/chtml/fonts/

clean:
	rm -rf _build
