"""Access reviews in Teams: `review ROLE every N days`, `reviews`, the reviewer's card and the
follow-through (reminders, escalation, apply, summary)."""
