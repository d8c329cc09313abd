"""Celery tasks for coding."""

from celery import shared_task


@shared_task(name="coding.hypotheses_reevaluate")
def hypotheses_reevaluate(project_id: int) -> int:
    """Re-evaluate the project's hypotheses whose data changed (see `coding.hypotheses`)."""
    from coding.hypotheses import reevaluate_project

    return reevaluate_project(project_id)
