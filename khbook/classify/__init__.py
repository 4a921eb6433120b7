"""Classify: pure functions of the checked book, the spec's typed rules and the as-of date.

facts (per-customer aggregates) -> amounts (年交易额, value tier, ABC) | stages (stage, tags,
decision chain) | place (region, size), each with its reasons in words (the phrases of
reasons.yaml) -> engine (the CustomerClass records and their summary) -> computed (the
classification as cell values, and what it changes).
"""
