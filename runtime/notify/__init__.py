"""Network notification transports and remote control (Telegram) for the runtime.

``telegram`` holds the :class:`TelegramSink` (a NotificationCenter sink), ``telegram_control``
the command handler behind a :class:`ControlPort`, and ``bot_api_stub`` a local Telegram
Bot API server for tests and offline demos.
"""
