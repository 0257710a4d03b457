"""Cards of the admin side (`bot/governance/`) and the typed payloads of their buttons."""
