"""What every page's header needs: where Flower is, and the JSON of what is shown."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

# The list parameters a dashboard URL carries (dashboard.TableQuery reads them);
# `since` and `format` are a poll's and a link's own, not the view's.
VIEW_PARAMETERS = ("status", "kind", "q", "before", "sort", "size")


def site_links(request: HttpRequest) -> dict[str, str]:
    view = [(name, request.GET[name]) for name in VIEW_PARAMETERS if request.GET.get(name)]
    return {
        "flower_url": settings.FLOWER_URL,
        "json_url": f"{reverse('tasks:collection')}?{urlencode([*view, ('format', 'json')])}",
    }
