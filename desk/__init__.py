"""The officers' web app (FastAPI, server-rendered with Jinja2) and its JSON API."""

from desk.app import create_app

__all__ = ["create_app"]
