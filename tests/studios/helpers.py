"""Small helpers for driving the studio pages with the test client."""
from __future__ import annotations

import re
from typing import Any

from django.test import Client
from django.urls import reverse


def url(name: str, studio: Any = None, **kwargs: Any) -> str:
    if studio is not None:
        kwargs["pk"] = studio.pk
    return reverse(f"workshops:{name}", kwargs=kwargs)


def prefixed(prefix: str, **values: Any) -> dict[str, Any]:
    """Form data for a prefixed form of the studio page (the page has several forms)."""
    return {f"{prefix}-{key}": value for key, value in values.items()}


def text(response: Any) -> str:
    """The page's visible text, tags stripped, whitespace collapsed (for assertions on what a user reads)."""
    html = response.content.decode()
    html = re.sub(r"<head>.*?</head>", "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def as_user(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def ok_post(client: Client, target: str, data: dict[str, Any]) -> Any:
    """A POST that must succeed: redirected back to the studio page, with no error summary."""
    response = client.post(target, data)
    assert response.status_code == 302, text(response)[:3000]
    return response
