"""Accounts: users, roles, permissions, bearer tokens, API keys, signed requests, audit."""
