"""Engine-specific parts of the one workflow. The bot engine needs none beyond `BotEngine`
(bot/graph/bot_engine.py); the pim engine (Zero Trust mode) lives in `pim*.py` here."""
