"""`heard train`, `heard evaluate` and `heard classify`: the classifier's commands."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    """Add the classifier's commands to the `heard` group."""
