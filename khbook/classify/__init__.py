"""Classify: pure functions of the checked book, the spec's rules and the as-of date.

facts (per-customer aggregates) -> engine (amounts, tiers, ABC, stages, tags, region, size,
with reasons) -> computed (the classification as cell values, and what it changes).
"""
