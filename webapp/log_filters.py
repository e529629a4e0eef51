"""Logging filters named in settings.LOGGING."""

import logging


class WithoutTraceback(logging.Filter):
    """Keep the one-line message, drop the traceback: for refusals of bad input (a
    forged Host header, say) that are the client's doing, not a bug of ours."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True
