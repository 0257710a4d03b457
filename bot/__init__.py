"""pimbot: just-in-time privileged access for Microsoft Entra PIM, in Microsoft Teams."""
