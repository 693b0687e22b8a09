"""Alembic migrations of the SqlObserver's schema (run by versioning.py, never by hand).

A Python package so that the scripts ship with sacred as package data. Each revision
in ``versions/`` is frozen: it spells out the tables as they were, and never imports
the current schema.
"""
