"""What each role may do, as the README's "Roles" table says: the specification the
unit tests (the groups the migration makes) and the integration tests (every endpoint
for every role) both check the code against, written out once."""

ROLE_PERMISSIONS = {
    "viewer": {"tasks.view_all_tasks"},
    "operator": {
        "tasks.launch_task",
        "tasks.steer_task",
        "tasks.manage_schedules",
        "tasks.bulk_act",
    },
    "admin": {
        "tasks.launch_task",
        "tasks.steer_task",
        "tasks.manage_schedules",
        "tasks.bulk_act",
        "tasks.steer_queue",
        "tasks.view_all_tasks",
        "tasks.view_audit",
    },
}
