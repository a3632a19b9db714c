"""The trivial task timed against raw rq."""

from macaron.tasks import task


@task
def noop(i):
    return i
