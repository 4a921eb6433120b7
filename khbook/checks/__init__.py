"""Checks: per-column schema (pandera), cross-sheet rules; findings are records, not exceptions."""
