"""Signals research sends to the apps built on it (which it must not import).

`analysis_data_changed(project_id=...)`: participants, their customer refs or their segments
changed, so analyses built on them (coding's hypotheses) are stale. Sent inside the writing
transaction; receivers defer their own work to the commit.
"""

from django.dispatch import Signal

analysis_data_changed = Signal()


def send_analysis_data_changed(project_id: int) -> None:
    """Tell the apps above research that the project's analysis inputs changed."""
    analysis_data_changed.send(sender=None, project_id=project_id)
