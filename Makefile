# The two commands a newcomer needs:
#   make dev    install everything and start Redis, the API, a worker and the dashboard
#   make test   install everything and run every check and test (what CI runs)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DISTS := client kernel plugins/redis_store plugins/metrics plugins/lora_train plugins/video_generate plugins/webhooks ui_flet
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: dev test install system-deps lint typecheck pytest bench clean

dev: $(STAMP)
	$(BIN)/myspinbot dev

test: $(STAMP) system-deps lint typecheck pytest

install: $(STAMP)

$(STAMP): requirements-dev.txt $(foreach d,$(DISTS),$(d)/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt $(foreach d,$(DISTS),-e $(d)) -e "plugins/video_generate[video]"
	touch $(STAMP)

system-deps:
	./scripts/install-system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy client/myspinbot_client kernel/myspinbot plugins/redis_store/myspinbot_redis_store plugins/metrics/myspinbot_metrics \
		plugins/lora_train/myspinbot_lora_train plugins/video_generate/myspinbot_video_generate plugins/webhooks/myspinbot_webhooks \
		ui_flet/myspinbot_ui bench

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache .mypy_cache .ruff_cache
