"""The two engines behind the one workflow, each a `WorkflowEngine` (protocol.py): the bot
engine (`bot.py`, its activation jobs in `bot_jobs.py`) and the pim engine, Zero Trust mode
(`pim.py`, following PIM in `pim_follow.py`). docs/engines.md says how they differ."""
