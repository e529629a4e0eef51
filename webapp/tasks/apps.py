from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "webapp.tasks"
    label = "tasks"
    verbose_name = "Tasks"

    def ready(self) -> None:
        # Every process of the app (web, worker, beat) keeps the records of tasks
        # published outside the dashboard, and every worker what its tasks log (their
        # output): the signal receivers connect on import.
        from webapp.tasks.running import output, seen  # noqa: F401
