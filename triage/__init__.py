"""Turning what arrives into cases: text cleaning, the classifier and its corpus, and intake.
Imports `models` and `scheduler`; the channel adapters (`bots`), the officers' app (`desk`) and
the annual report (`reports`) import it."""
