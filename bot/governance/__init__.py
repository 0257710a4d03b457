"""The admin side of pimbot: who is an admin (the gate), changes that need a second admin
(four-eyes), and the admin journeys (`standing`, ...). Beside the activation workflow
(`bot/workflow/`), sharing its store, outbox and scheduler but not its code paths."""
