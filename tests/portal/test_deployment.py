"""docker-compose.yml and the Dockerfile describe a stack that can run (no Docker engine here)."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def command_of(service: dict) -> str:
    cmd = service.get("command", "")
    return " ".join(cmd) if isinstance(cmd, list) else cmd


def test_it_has_web_worker_beat_postgres_and_redis_with_healthchecks() -> None:
    services = compose()["services"]
    assert {"web", "worker", "beat", "db", "redis"} <= set(services)
    for name in ("web", "worker", "db", "redis"):
        assert "healthcheck" in services[name], name
    assert services["db"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert any(v.startswith("pg-data:") for v in services["db"]["volumes"])
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and env["REDIS_URL"].startswith("redis://")
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy"


def test_its_commands_name_real_modules() -> None:
    services = compose()["services"]
    wsgi = re.search(r"gunicorn (\S+):(\w+)", command_of(services["web"]))
    assert wsgi, "web must run gunicorn"
    module = importlib.import_module(wsgi.group(1))
    assert callable(getattr(module, wsgi.group(2)))
    for name in ("worker", "beat"):
        match = re.search(r"celery -A (\S+) (worker|beat)", command_of(services[name]))
        assert match, name
        celery_module = importlib.import_module(match.group(1))
        assert celery_module.celery_app.main == "portal"
    for management_command in re.findall(r"manage\.py (\w+)", command_of(services["web"])):
        from django.core.management import get_commands

        assert management_command in get_commands(), management_command


def test_the_image_installs_cjk_fonts_and_runs_as_an_unprivileged_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "fonts-noto-cjk" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    assert "python:3.11" in dockerfile
