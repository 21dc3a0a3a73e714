"""Persistence: the only package that imports pynamodb or knows a key."""
