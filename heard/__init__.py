"""Heard's composition root: settings and the `heard` command. No business rules live here."""
