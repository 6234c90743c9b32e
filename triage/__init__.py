"""Turning what arrives into cases: text cleaning, classification, intake and the officers' web app.
Imports `models` and `scheduler`."""
