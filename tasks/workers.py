"""Celery tasks of the task lifecycle: the engine's clock (beat calls `tick` every 2 s, see settings)."""

from celery import shared_task

from . import engine


@shared_task(name="tasks.tick", ignore_result=True)
def tick() -> dict:
    """One pass of the engine: define, retry, poll the executor, merge, broker, clean up, replicate, end."""
    return engine.tick()
