"""What the command line turns into one line for the operator (and an exit code)."""

from __future__ import annotations


class ConfigError(Exception):
    """A data file or setting is wrong; the message is meant for the operator."""


class UnreachableError(Exception):
    """A service the bot needs (a platform's API, the database) cannot be reached; the
    message, meant for the operator, says which and what to check."""
