"""{% moment %}: a <time> element that static/js/time.js shows in the viewer's zone."""

from datetime import datetime

from django import template
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def moment(
    value: datetime | None, relative: str = "", precise: bool = False, short: bool = False
) -> SafeString | str:
    """The moment as the server's clock with its zone named, and the date when it is
    not the server's today: what a reader without JavaScript sees, and nothing that
    depends on who is looking (the live table is shared). `relative`: "ago" adds how
    long ago, "in" shows how long until (both in the browser); `precise` adds
    milliseconds, `short` leaves out the seconds."""
    if value is None:
        return "—"
    local = timezone.localtime(value)
    clock = dateformat.format(local, "H:i" if short else "H:i:s")
    if precise:
        clock += f".{local.microsecond // 1000:03d}"
    if local.date() != timezone.localdate():
        clock = f"{dateformat.format(local, 'M j')}, {clock}"
    text = f"{'at ' if relative == 'in' else ''}{clock} {dateformat.format(local, 'T')}"
    return format_html(
        '<time datetime="{}"{}{}{}>{}</time>',
        value.isoformat(),
        format_html(' data-relative="{}"', relative) if relative else "",
        mark_safe(" data-precise") if precise else "",
        mark_safe(" data-short") if short else "",
        text,
    )


@register.filter
def duration(seconds: float | None) -> str:
    """12.3 s, 4 min 5 s, 1 h 3 min: as precise as a person reads it."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"
