"""What every page's header needs: where Flower is, and the JSON of what is shown."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from webapp.tasks.web.representations import query_param

# The list parameters a dashboard URL carries (dashboard.TableQuery reads them);
# `since` and `format` are a poll's and a link's own, not the view's.
VIEW_PARAMETERS = ("status", "kind", "q", "before", "sort", "after", "size")


def site_links(request: HttpRequest) -> dict[str, str]:
    # query_param: an error page for a query string of too many fields renders this too.
    view = [(name, value) for name in VIEW_PARAMETERS if (value := query_param(request, name))]
    return {
        "flower_url": settings.FLOWER_URL,
        "json_url": f"{reverse('tasks:collection')}?{urlencode([*view, ('format', 'json')])}",
    }
