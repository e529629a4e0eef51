"""What every page's header needs: where Flower is, the JSON of what is shown, and
what the reader may do (`may.launch_task`: which buttons to show)."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from webapp.tasks.access.roles import may_codes
from webapp.tasks.web.representations import query_param

# The list parameters a dashboard URL carries (dashboard.TableQuery reads them);
# `since` and `format` are a poll's and a link's own, not the view's.
VIEW_PARAMETERS = ("status", "kind", "q", "before", "sort", "after", "size")


def site_links(request: HttpRequest) -> dict[str, object]:
    # query_param: an error page for a query string of too many fields renders this too.
    view = [(name, value) for name in VIEW_PARAMETERS if (value := query_param(request, name))]
    return {
        "flower_url": settings.FLOWER_URL,
        "json_url": f"{reverse('tasks:collection')}?{urlencode([*view, ('format', 'json')])}",
    }


def permissions(request: HttpRequest) -> dict[str, object]:
    """Buttons follow these; the views' own checks (access.roles.requires) are what count.
    Lazy: read only by a template that asks (an error page never does)."""
    return {"may": SimpleLazyObject(lambda: dict.fromkeys(may_codes(request), True))}
