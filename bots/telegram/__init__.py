"""The Telegram adapter (aiogram 3): routers per feature, raw-first intake by long polling or
webhook, state in the database, and delivery of outbox items to Telegram chats."""
