"""Signals observations sends to the apps built on it (which it must not import).

`document_processed(document=...)`: the NLP ingest finished for the document's current text
(sent from the processing task, after the ingest; a receiver's failure is its own: the sender
uses `send_robust`, so it cannot fail the processing).
"""

from django.dispatch import Signal

document_processed = Signal()
