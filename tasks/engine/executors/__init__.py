"""Executors are backends: the portal submits jobs, kills them and polls their state through one interface."""

from tasks.engine.executors.base import Executor, JobUpdate, get_executor

__all__ = ["Executor", "JobUpdate", "get_executor"]
