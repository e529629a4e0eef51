"""Counts as the dashboard writes them everywhere: 31848 as "31 848"."""

from django import template

from webapp.tasks.web.feedback import count_text

register = template.Library()


@register.filter
def grouped(value: int) -> str:
    return count_text(int(value))
