"""What an action says it did, in the page's status region (#messages).

Django's messages carry it: a plain form's redirect target shows it (base.html), and
an htmx answer brings it out of band. Every htmx answer that is not a poll replaces
the region, so an error shown there by an earlier request goes away."""

from django.contrib import messages
from django.contrib.messages import get_messages
from django.http import HttpRequest
from django.template.loader import render_to_string

from webapp.tasks.web.representations import Answer, answer_for


def tell(request: HttpRequest, message: str) -> None:
    """Say what an action did. JSON answers say it themselves (and take no cookie)."""
    if answer_for(request) is not Answer.JSON:
        messages.info(request, message)


def messages_oob(request: HttpRequest) -> str:
    """The status region's new content, out of band: what was said, or nothing."""
    listed = render_to_string("messages.html", {"messages": get_messages(request)})
    return f'<div id="messages" hx-swap-oob="innerHTML">{listed}</div>'
