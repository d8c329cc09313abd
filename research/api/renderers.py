"""DRF's browsable API (the HTML a browser gets from /api/v1/), with the one exception it needs
from the Content-Security-Policy.

The site's policy is `style-src 'self'`. DRF's own templates carry style attributes (the filter
button, the extra-actions menu, the search box, nested-form fieldsets) and a <style> element with
the Pygments colours of the response body, so under that policy the browsable API loses its
layout and highlighting. Rewriting DRF's templates would fork them; instead its HTML responses
alone also allow inline style. Script stays `'self'`: an injected style cannot run code. JSON,
CSV and every page of the app keep the strict policy.
"""

from collections.abc import Mapping
from typing import Any

from csp.constants import UNSAFE_INLINE
from rest_framework import renderers

# What csp.decorators.csp_update({...}) does to a view's response: the middleware adds these
# sources to the site's policy for this response only. A decorator cannot be used here because
# one API view answers JSON or HTML depending on the request; only the renderer knows which.
CSP_UPDATE = {"style-src": [UNSAFE_INLINE]}


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """The browsable API; its HTML responses also allow inline style (see the module docstring)."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> Any:
        html = super().render(data, accepted_media_type, renderer_context)
        response = (renderer_context or {}).get("response")
        if response is not None:
            response._csp_update = CSP_UPDATE
        return html
