"""Shared kernel: settings, database, unit of work, events, errors, money, clock."""
