"""Bulk Operations: one runner for every action (task actions and registration), in primary-key batches."""
