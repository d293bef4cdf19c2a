from celery import shared_task

from .samples import samples_write


@shared_task(name="monitoring.sample_rollups", ignore_result=True)
def sample_rollups() -> int:
    """Every minute (beat): a sample of each changed rollup row, for throughput, ETA and the charts."""
    return samples_write()
