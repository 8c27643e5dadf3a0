"""Settings come from the environment; a bad value stops start-up naming the variable."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import Env

ROOT = Path(__file__).resolve().parents[2]
GOOD_SECRET = "x" * 60


def run_django(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "PORTAL_ENV",
                          "EMAIL_HOST", "PII_ENCRYPTION_KEYS", "PII_HASH_KEY"}}
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    return subprocess.run([sys.executable, "manage.py", *(args or ("check",))], cwd=ROOT, env=clean,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("name", "value"), [
    ("DEBUG", "maybe"),
    ("DATABASE_URL", "mysql://root@localhost/portal"),
    ("REDIS_URL", "http://localhost:6379"),
    ("PORTAL_ENV", "staging"),
    ("SECRET_KEY", "short"),
    ("SESSION_COOKIE_AGE", "ten"),
    ("DEFAULT_FROM_EMAIL", "not-an-address"),
])
def test_it_stops_start_up_naming_the_bad_variable(name: str, value: str) -> None:
    result = run_django({name: value})
    assert result.returncode != 0
    assert name in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_it_starts_with_nothing_set_on_sqlite_and_eager_tasks() -> None:
    code = ("from django.conf import settings as s; "
            "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.EMAIL_BACKEND)")
    result = run_django({}, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["django.db.backends.sqlite3", "True",
                                     "django.core.mail.backends.console.EmailBackend"]


def test_it_uses_redis_as_broker_when_redis_url_is_set() -> None:
    code = "from django.conf import settings as s; print(s.CELERY_BROKER_URL, s.CELERY_TASK_ALWAYS_EAGER)"
    result = run_django({"REDIS_URL": "redis://127.0.0.1:6379/3"}, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["redis://127.0.0.1:6379/3", "False"]


def test_it_requires_secrets_in_production() -> None:
    result = run_django({"PORTAL_ENV": "production"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def production_env() -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {"PORTAL_ENV": "production", "SECRET_KEY": GOOD_SECRET + "-Zq8!kP", "ALLOWED_HOSTS": "portal.example.gov.cn",
            "DATABASE_URL": "postgres://portal:pw@127.0.0.1:5432/portal", "REDIS_URL": "redis://127.0.0.1:6379/0",
            "PII_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "PII_HASH_KEY": "h" * 40,
            "DEFAULT_FROM_EMAIL": "noreply@example.gov.cn"}


def test_it_passes_check_deploy_with_production_values() -> None:
    result = run_django(production_env(), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_fails_check_deploy_when_pii_key_is_the_development_file() -> None:
    env = production_env()
    dev_key = (ROOT / "var" / "dev-pii-key")
    if not dev_key.exists():
        pytest.skip("no development key file in this checkout")
    env["PII_ENCRYPTION_KEYS"] = dev_key.read_text().strip()
    result = run_django(env, "check", "--deploy")
    assert result.returncode != 0
    assert "portal.E001" in result.stderr


class TestEnv:
    def test_it_parses_booleans_and_rejects_others(self) -> None:
        env = Env({"A": "yes", "B": "0"})
        assert env.bool("A") is True and env.bool("B") is False and env.bool("C", True) is True
        with pytest.raises(ImproperlyConfigured, match="X"):
            Env({"X": "perhaps"}).bool("X")

    def test_it_parses_lists_and_integers(self) -> None:
        env = Env({"HOSTS": "a.gov.cn, b.gov.cn,", "N": "12"})
        assert env.list("HOSTS") == ["a.gov.cn", "b.gov.cn"]
        assert env.int("N", 1) == 12
        with pytest.raises(ImproperlyConfigured, match="N"):
            Env({"N": "-3"}).int("N", 1, minimum=0)

    def test_it_checks_url_schemes(self) -> None:
        assert Env({"U": "redis://h:6379/0"}).url("U", ("redis",)) == "redis://h:6379/0"
        with pytest.raises(ImproperlyConfigured, match="U"):
            Env({"U": "amqp://h"}).url("U", ("redis",))
