"""The `myspinbot` command: the server commands (api, worker, dev, plugins), the dev runner and
the embedded Redis; the job commands come from the client distribution (`myspinbot_client.cli`)."""
