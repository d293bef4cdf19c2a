"""The executor interface. The embedded default is a simulated grid; production backends plug in here."""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.module_loading import import_string

BACKENDS = {
    "simulated": "tasks.engine.executors.simulated.SimulatedGrid",
}


@dataclass(frozen=True)
class OutputFile:
    format: str
    lfn: str
    bytes: int
    events: int


@dataclass(frozen=True)
class JobUpdate:
    """What a backend reports about one job: its new status and, when it ended, its error or outputs."""

    job_id: int
    status: str  # running, finished, failed or cancelled
    error_source: str = ""
    error_code: int | None = None
    error_diag: str = ""
    outputs: tuple[OutputFile, ...] = field(default_factory=tuple)


class Executor(ABC):
    name = "abstract"

    @abstractmethod
    def submit(self, job_ids: Sequence[int]) -> None:
        """Hand assigned jobs (site already chosen by brokerage) to the backend."""

    @abstractmethod
    def kill(self, job_ids: Sequence[int]) -> None:
        """Ask the backend to kill these jobs; it reports them `cancelled` at its next poll."""

    @abstractmethod
    def poll(self) -> list[JobUpdate]:
        """The state changes since the last poll."""


def get_executor(name: str | None = None) -> Executor:
    name = name or settings.DEFT_EXECUTOR
    try:
        path = BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown executor {name!r}; known: {', '.join(sorted(BACKENDS))}") from None
    return import_string(path)()
