"""Accounts: users, roles and permissions, bearer tokens, API keys with signed requests, audit log.
"""
