"""Alembic migrations of the quantbridge database (run by :mod:`..migrate`; each revision
is written by hand and creates or alters tables explicitly)."""
