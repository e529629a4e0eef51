"""Plain Celery tasks of the app that are not in the catalogue: the dashboard lists
them when anything publishes them (running/seen.py). `celery -A webapp call demo.add --args
'[2, 3]'` from a shell shows one in the table."""

from celery import shared_task


@shared_task(name="demo.add")
def add(x: float, y: float) -> float:
    return x + y


@shared_task(name="demo.echo")
def echo(*args: object, **kwargs: object) -> dict[str, object]:
    return {"args": list(args), "kwargs": kwargs}


@shared_task(name="demo.fail")
def fail(message: str) -> None:
    raise ValueError(message)
