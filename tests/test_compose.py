"""docker-compose.yml, as the README's "Running at scale" describes it (no Docker needed to read it)."""

from __future__ import annotations

import yaml

from bot.config import load_config
from tests.helpers import REPO


def services() -> dict[str, dict]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))["services"]


def bots() -> dict[str, dict]:
    return {name: service for name, service in services().items() if name != "db"}


def test_the_bots_share_the_postgresql_service_once_it_is_healthy():
    db = services()["db"]
    assert db["image"] == "postgres:16" and db["restart"] == "unless-stopped"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert db["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    for service in bots().values():
        assert service["environment"]["DATABASE_URL"] == "postgresql://bot:bot@db:5432/bot"
        assert service["depends_on"] == {"db": {"condition": "service_healthy"}}
        assert service["env_file"] == ".env" and service["restart"] == "unless-stopped"


def test_the_shard_services_run_every_shard_once_under_names_of_their_own():
    configs = []
    for service in bots().values():
        variables = {k: v for k, v in service["environment"].items() if k != "DATABASE_URL"}
        configs.append(load_config({"OPENAI_API_KEY": "k", **variables}))
    counts = {config.shard_count for config in configs}
    assert len(counts) == 1 and len(configs) >= 2
    shards = sorted(shard for config in configs for shard in config.shard_ids or ())
    assert shards == list(range(counts.pop() or 0))
    assert len({config.instance_name for config in configs}) == len(configs)


def test_each_bots_healthcheck_asks_its_own_metrics_port():
    for service in bots().values():
        port = service["environment"]["METRICS_PORT"]
        assert f"127.0.0.1:{port}/healthz" in " ".join(service["healthcheck"]["test"])
