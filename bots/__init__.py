"""Channel adapters (email, Telegram, web chat), the conversation, and the outbox sender.
Imports `models`, `scheduler` and `triage`."""
