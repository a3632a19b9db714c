"""``macaron worker services/<name>``: an rq worker (and its scheduler) for one service's queues.

It loads the Service as the server does, so jobs find their tasks and models in it. Each job
runs in a forked work horse (``--simple``: in the worker process). Log lines are JSON, like the
server's, and carry the request id of the job's originating request. SIGTERM (or Ctrl-C) lets
the current job finish, then exits; a second one stops at once.

The scheduler (delayed jobs, retries) runs in whichever worker holds the queue's scheduler lock,
a short lease renewed by heartbeat that another worker takes over when its holder's host dies
(:mod:`._scheduler`). Abandoned jobs (their worker was SIGKILLed, or its machine died) are found
by rq's maintenance pass: a running job's entry in the started registry lives ``heartbeat interval + abandon grace``
seconds and the worker renews it every heartbeat; once it lapses, the next maintenance pass of
any worker of the queue (every ``maintenance interval``) retries the job if it has retries left,
else moves it to the failed registry. With ``--simple`` the job cannot heartbeat while it runs,
so its entry lives ``timeout + grace``.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from rq import Queue
from rq.serializers import JSONSerializer
from rq.worker import BaseWorker, SimpleWorker, Worker

from .._core.errors import ConfigError
from .._core.observability import JsonFormatter
from .._core.service import Service
from ..clients._api import warm
from ._base import current_context
from ._metrics import QueueMetrics
from ._queue import redis_down_errors
from ._redis import connect
from ._run import serving
from ._runtime import attach
from ._scheduler import DEFAULT_LOCK_TTL, MacaronScheduler, Standby, host_name, release_dead_scheduler_locks

_UNLOGGED = ("arguments", "kwargs", "func")  # rq puts job arguments in its error records


class _MacaronWorker:
    """What macaron changes in rq's workers: the Service around each job, short abandonment."""

    service: Service
    abandon_grace: int
    log_result_lifespan = False  # rq's "result is kept for N seconds" line after every job: noise

    def __init__(self, *args: Any, service: Service, abandon_grace: int = 30,
                 scheduler_lock_ttl: int = DEFAULT_LOCK_TTL, **kwargs: Any) -> None:
        self.service, self.abandon_grace, self.scheduler_lock_ttl = service, abandon_grace, scheduler_lock_ttl
        self.standby = Standby(scheduler_lock_ttl)
        self.metrics: QueueMetrics | None = None  # queue depth and age to CloudWatch (set by build_worker)
        super().__init__(*args, **kwargs)

    def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO", *args: Any) -> None:
        """rq's, with macaron's scheduler (a short lease, :mod:`._scheduler`) whose name (the value
        of the locks it takes) says which host and worker took them: a restarted worker can free a
        dead one's locks even if its scheduler died before registering (rq only learns the
        scheduler's pid once it has forked)."""
        name = f"{uuid.uuid4().hex}@{host_name()}:{os.getpid()}"
        self.scheduler = MacaronScheduler(self.queues, self.connection,  # type: ignore[attr-defined]
                                          1, logging_level or self.log.level, *args,  # type: ignore[attr-defined]
                                          serializer=self.serializer, name=name,  # type: ignore[attr-defined]
                                          lock_ttl=self.scheduler_lock_ttl)
        self.standby.enabled = not burst
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return
        if not burst:
            self.scheduler.start()
            return
        try:
            self.scheduler.register_birth()
            self.scheduler.enqueue_scheduled_jobs()
        finally:
            self.scheduler.release_locks()
            self.scheduler.register_death()

    @property
    def dequeue_timeout(self) -> int:  # block no longer than one maintenance interval, nor one standby
        return max(1, min(self.worker_ttl - 15, int(self.maintenance_interval),  # type: ignore[attr-defined]
                          int(self.standby.interval)))

    def heartbeat(self, *args: Any, **kwargs: Any) -> None:
        """rq's heartbeat; then, in the worker process, a standby turn for the scheduler lock."""
        super().heartbeat(*args, **kwargs)  # type: ignore[misc]
        if not self._stop_requested:  # type: ignore[attr-defined]  # no new scheduler while shutting down
            try:
                self.standby.tick(self.scheduler)  # type: ignore[attr-defined]
            except redis_down_errors():  # Redis went away between the two: the next heartbeat tries again
                pass
        if self.metrics is not None:
            self.metrics.tick(self.connection)  # type: ignore[attr-defined]

    def perform_job(self, job: Any, queue: Any, execution: Any) -> bool:
        with serving(self.service):
            return super().perform_job(job, queue, execution)  # type: ignore[misc, no-any-return]


class MacaronWorker(_MacaronWorker, Worker):
    """Forks a work horse per job; the worker heartbeats for it every monitoring interval."""

    def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
        interval = self.job_monitoring_interval
        if job.timeout and job.timeout > 0:
            interval = min(job.timeout - working_time, interval)
        return int(max(interval, 1)) + self.abandon_grace


class MacaronSimpleWorker(_MacaronWorker, SimpleWorker):
    """Runs jobs in the worker process (fastest; no heartbeat while a job runs)."""

    def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
        timeout = job.timeout if job.timeout and job.timeout > 0 else 300
        return int(timeout) + self.abandon_grace


class TaskContextFilter(logging.Filter):
    """Adds the running job's request id, job id, task and attempt; drops job arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name in _UNLOGGED:
            record.__dict__.pop(name, None)
        ctx = current_context()
        if ctx is not None:
            for key, value in (("request_id", ctx.request_id), ("job_id", ctx.job_id), ("task", ctx.task),
                               ("attempt", ctx.attempt), ("user", (ctx.claims or {}).get("sub"))):
                record.__dict__.setdefault(key, value)
        return True


# rq's own INFO lines of every job (dequeued, "Successfully completed", "Job OK"): macaron's
# "task … started" / "task … finished" lines say the same with the request id, attempt and duration
_RQ_JOB_LINES = frozenset({"Worker %s: %s: %s (%s)", "Worker %s: %s: %s",
                           "Successfully completed %s job in %ss on worker %s",
                           "Successfully completed job %s in %ss on worker %s"})


def _not_an_rq_job_line(record: logging.LogRecord) -> bool:
    return not (record.levelno == logging.INFO and record.msg in _RQ_JOB_LINES and record.name.startswith("rq."))


def configure_logging(service: Service, stream: Any = None) -> None:
    """JSON lines for rq's loggers and the service's, with the job's request id.

    Per job only macaron's two lines are written (rq's three more come back at ``log_level: debug``)."""
    level = str(service.config["log_level"]).upper()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(service.name, service.config.secret_values()))
    if level != "DEBUG":
        handler.addFilter(_not_an_rq_job_line)
    handler.addFilter(TaskContextFilter())
    handler._macaron = True  # type: ignore[attr-defined]
    rq_logger = logging.getLogger("rq")
    for old in [h for h in rq_logger.handlers if getattr(h, "_macaron", False)]:
        rq_logger.removeHandler(old)
    rq_logger.addHandler(handler)
    rq_logger.setLevel(level)
    rq_logger.propagate = False
    if not any(isinstance(f, TaskContextFilter) for f in service.log.filters):
        service.log.addFilter(TaskContextFilter())  # on the logger: every handler sees the context


def build_worker(
    service: Service,
    connection: Any,
    *,
    queues: list[str] | None = None,
    simple: bool = False,
    maintenance_interval: int = 60,
    heartbeat_interval: int = 10,
    abandon_grace: int = 30,
    scheduler_lock_ttl: int = DEFAULT_LOCK_TTL,
    metrics_namespace: str | None = None,
    metrics_interval: float = 60.0,
    generation: int = 0,
) -> BaseWorker:
    """An rq worker (MacaronWorker or MacaronSimpleWorker) for ``service``'s queues."""
    runtime = attach(service)
    if not runtime.tasks:
        raise ConfigError(f"service {service.name!r} declares no tasks (define them with @task in tasks.py)")
    names = runtime.queue_names(queues)
    cls = MacaronSimpleWorker if simple else MacaronWorker
    worker = cls(
        [Queue(n, connection=connection, serializer=JSONSerializer) for n in names],
        connection=connection,
        serializer=JSONSerializer,
        # a new generation after a Redis outage: the last one's registration may outlive it
        name=f"{service.name}.{host_name()}.{os.getpid()}" + (f".{generation}" if generation else ""),
        maintenance_interval=maintenance_interval,
        job_monitoring_interval=heartbeat_interval,
        default_result_ttl=86_400,
        service=service,
        abandon_grace=abandon_grace,
        scheduler_lock_ttl=scheduler_lock_ttl,
    )
    worker.metrics = QueueMetrics.from_options(service, names, metrics_namespace, metrics_interval)
    return worker


def _wait_for_redis(connection: Any, service: Service, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection.ping()
            break
        except Exception as exc:
            if time.monotonic() > deadline:
                raise ConfigError(f"worker of {service.name!r}: Redis does not answer ({type(exc).__name__})") from None
            time.sleep(0.2)
    try:
        policy = connection.config_get("maxmemory-policy").get("maxmemory-policy")
    except Exception:  # managed Redis often forbids CONFIG: nothing to check
        return
    if policy and policy != "noeviction":
        service.log.warning("Redis maxmemory-policy is %r: queued jobs may be evicted; use noeviction", policy)


def run_worker(directory: str | Path, *, burst: bool = False, simple: bool = False, queues: list[str] | None = None,
               maintenance_interval: int = 60, heartbeat_interval: int = 10, abandon_grace: int = 30,
               scheduler_lock_ttl: int = DEFAULT_LOCK_TTL, metrics_namespace: str | None = None,
               metrics_interval: float = 60.0) -> int:
    """Load the service in ``directory`` and work its queues until SIGTERM (or, ``burst``, until empty)."""
    service = Service.load(directory)
    runtime = attach(service)
    if not runtime.tasks:
        raise ConfigError(f"service {service.name!r} declares no tasks (define them with @task in tasks.py)")
    url = runtime.url()
    if not url:
        raise ConfigError("REDIS_URL is not set: point it at Redis (macaron dev starts one for you)")
    configure_logging(service)
    if service.config.get("clients"):  # built once here; every forked work horse inherits them
        warm(service)
    # likewise the store's client: each horse would otherwise build its own boto3 client per job
    # (measured: 245 ms of CPU per mail job on DynamoDB, 36 ms on SQLite; docs/scaling.md)
    service.store().warm()
    connection = connect(url)
    _wait_for_redis(connection, service)
    for generation in itertools.count():
        worker = build_worker(service, connection, queues=queues, simple=simple,
                              maintenance_interval=maintenance_interval, heartbeat_interval=heartbeat_interval,
                              abandon_grace=abandon_grace, scheduler_lock_ttl=scheduler_lock_ttl,
                              metrics_namespace=metrics_namespace, metrics_interval=metrics_interval,
                              generation=generation)
        release_dead_scheduler_locks(connection, worker.queue_names(), service)
        service.log.info("worker %s listening on %s", worker.name, ", ".join(worker.queue_names()),
                         extra={"worker": worker.name, "burst": burst, "simple": simple})
        try:
            worker.work(burst=burst, with_scheduler=True, logging_level=str(service.config["log_level"]).upper())
        except redis_down_errors():  # its teardown could not reach Redis either
            pass
        if burst or worker._stop_requested or _answers(connection):
            break
        # rq's loop quits on a connection error met outside its dequeue: wait for Redis, then work on
        service.log.warning("worker %s lost Redis; waiting for it to come back", worker.name,
                            extra={"worker": worker.name})
        if not _await_redis(connection):
            break
        service.log.warning("Redis is back; worker of %s works on", service.name, extra={"worker": worker.name})
    service.log.info("worker %s stopped", worker.name, extra={"worker": worker.name})
    return 0


def _answers(connection: Any) -> bool:
    try:
        return bool(connection.ping())
    except redis_down_errors():
        return False


def _await_redis(connection: Any) -> bool:
    """Block until Redis answers (True) or SIGTERM/SIGINT asks to stop (False)."""
    stop: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: stop.append(signum)) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stop:
            if _answers(connection):
                return True
            time.sleep(0.5)
        return False
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


class WorkerProcess:
    """``macaron worker`` as a subprocess, for tests and tooling; its JSON log goes to a file."""

    def __init__(self, directory: str | Path, *args: str, env: dict[str, str] | None = None,
                 log_path: str | Path | None = None) -> None:
        self.argv = [sys.executable, "-m", "macaron", "worker", str(directory), *args]
        self.env = {**os.environ, **(env or {})}
        if log_path is None:
            fd, log_path = tempfile.mkstemp(prefix="macaron-worker-", suffix=".log")
            os.close(fd)
        self.log_path = Path(log_path)
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self, ready_timeout: float = 20.0) -> WorkerProcess:
        """Start and wait until the worker logs that it listens (or exits, for a burst)."""
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None or any("listening on" in e.get("message", "") for e in self.logs()):
                return self
            time.sleep(0.05)
        raise TimeoutError(f"worker did not start within {ready_timeout} s: {self.log_text()[-2000:]}")

    def logs(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far."""
        out = []
        for line in self.log_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                out.append(entry)
        return out

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.is_file() else ""

    def wait(self, timeout: float = 30.0) -> int:
        assert self.popen is not None
        return self.popen.wait(timeout=timeout)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM (finish the current job, then exit); SIGKILL after ``timeout``."""
        assert self.popen is not None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                return self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.popen.wait()

    def kill(self) -> None:
        """SIGKILL the worker and its process group (its scheduler; work horses have their own)."""
        assert self.popen is not None
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait()

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.popen is not None:
            self.terminate(timeout=15)
