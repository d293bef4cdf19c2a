"""A tiny executor backend for tests: it records what it was asked to kill (registered only in tests)."""

from tasks.engine.executors.base import Executor


class RecordingExecutor(Executor):
    name = "recording"
    killed: list[int] = []

    def submit(self, job_ids):
        pass

    def kill(self, job_ids):
        RecordingExecutor.killed.extend(job_ids)

    def poll(self):
        return []
