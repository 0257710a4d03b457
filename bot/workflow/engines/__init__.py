"""Engine-specific parts of the one workflow. The bot engine needs none beyond `BotEngine`
(bot/graph/pim.py); the pim engine (Zero Trust mode) lives in `pim*.py` here."""
