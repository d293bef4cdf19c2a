"""Errors of jobs: the code registry and its data, diagnostic rules, classification and retry policy, summaries."""
