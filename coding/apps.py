from django.apps import AppConfig


class CodingConfig(AppConfig):
    name = "coding"
    verbose_name = "Coding"

    def ready(self) -> None:
        # Imports flow one way (research <- observations <- coding): observations owns the one
        # service that edits a document's text but may not import coding, so coding hands it the
        # excerpt re-anchoring as a hook, once, when the app registry is ready.
        from coding.anchoring import excerpts_reanchor
        from observations.anchoring import register_text_edit_hook

        register_text_edit_hook(excerpts_reanchor)

        # research and observations announce changes by signal for the same reason.
        from coding.receivers import connect

        connect()
