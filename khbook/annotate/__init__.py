"""Annotate: the refresh plan (what to write where), independent of the writer that applies it."""
