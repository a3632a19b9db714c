"""CPU per request and per job, measured on the services' own processes: the input of the capacity
model in docs/scaling.md.

``MACARON_ROOT=$PWD python benchmarks/instance_cost.py [--store sqlite|dynamodb] [-n 300]`` starts
the local system (one instance of each service, one worker each), warms it, then runs each
operation ``n`` times from 4 client threads and reads the CPU time (user + system, from
``/proc/<pid>/stat``, children reaped included: a forked work horse's time lands in its worker's)
of the process tree serving it, before and after. CPU time, not wall time: it does not depend on
how busy the rest of the machine is, and it is what an instance's vCPUs must supply. Prints JSON.
The Auth0 and SendGrid fakes, Redis and moto run in their own processes and are not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from macaron.testing import LocalSystem, SystemUnderTest

TICK = os.sysconf("SC_CLK_TCK")
PASSWORD = "correct horse 42"


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its live descendants, with their reaped children."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(stat.parent.name)] = fields
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        fields = stats.get(current)
        if fields:  # utime, stime, cutime, cstime (fields 14-17 of stat; 11-14 after the comm)
            total += sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICK
        todo += children.get(current, [])
    return total


def measure(pids: list[int], n: int, call: Any) -> float:
    """CPU milliseconds per call of ``pids``' trees."""
    before = sum(tree_cpu(p) for p in pids)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(call, range(n)))
    time.sleep(0.5)
    return round(1000 * (sum(tree_cpu(p) for p in pids) - before) / n, 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default=os.environ.get("MACARON_ROOT", "."))
    parser.add_argument("--store", choices=["sqlite", "dynamodb"], default="sqlite")
    parser.add_argument("-n", type=int, default=300)
    args = parser.parse_args()
    system = LocalSystem(Path(args.root), store=args.store).start()
    try:
        user, mail = system.urls["user"], system.urls["mail"]
        token = SystemUnderTest(system.root, system.urls, local=system).token("mail", "bench", scopes=["mail:send"])
        session = requests.Session()

        def signup(_: int) -> str:
            email = f"b-{uuid.uuid4().hex[:12]}@example.com"
            answer = session.post(f"{user}/v1/users", json={"email": email, "password": PASSWORD, "name": "B"},
                                  timeout=60)
            assert answer.status_code == 201, answer.text
            return email

        accounts = [signup(i) for i in range(20)]
        session_token = session.post(f"{user}/v1/login", json={"email": accounts[0], "password": PASSWORD},
                                     timeout=60).json()["token"]

        def login(i: int) -> None:
            answer = session.post(f"{user}/v1/login", json={"email": accounts[i % 20], "password": PASSWORD},
                                  timeout=60)
            assert answer.status_code == 200, answer.text

        def get_me(_: int) -> None:
            answer = session.get(f"{user}/v1/users/me", headers={"Authorization": f"Bearer {session_token}"},
                                 timeout=60)
            assert answer.status_code == 200, answer.text

        sent: list[str] = []

        def send_mail(i: int) -> None:
            answer = session.post(f"{mail}/v1/mails", headers={"Authorization": f"Bearer {token}"}, timeout=60,
                                  json={"to": f"m{i}@example.com", "template": "welcome", "data": {"name": "M"}})
            assert answer.status_code == 202, answer.text
            sent.append(answer.json()["id"])

        for warm in (login, get_me, send_mail):
            for i in range(30):
                warm(i)
        web = {name: [p.popen.pid for p in system.instances(name) if p.popen] for name in ("user", "mail")}
        workers = {name: [p.popen.pid for p in system.workers(name) if p.popen] for name in ("user", "mail")}
        idle(system)
        figures: dict[str, Any] = {"store": args.store, "n": args.n}
        figures["getMe_cpu_ms"] = measure(web["user"], args.n, get_me)
        figures["login_cpu_ms"] = measure(web["user"], args.n, login)
        before_user_worker = sum(tree_cpu(p) for p in workers["user"])
        figures["signup_cpu_ms"] = measure(web["user"], args.n, signup)
        idle(system)
        figures["signup_user_worker_cpu_ms"] = round(
            1000 * (sum(tree_cpu(p) for p in workers["user"]) - before_user_worker) / args.n, 2)
        sent.clear()
        before_mail_worker = sum(tree_cpu(p) for p in workers["mail"])
        figures["sendMail_cpu_ms"] = measure(web["mail"], args.n, send_mail)
        idle(system)
        figures["mail_job_cpu_ms"] = round(1000 * (sum(tree_cpu(p) for p in workers["mail"]) - before_mail_worker)
                                           / args.n, 2)
        figures.update(redis_bytes(str(system.redis_url)))
        print(json.dumps(figures, indent=2))
    finally:
        system.stop()
    return 0


def redis_bytes(url: str) -> dict[str, Any]:
    """What a finished job keeps in Redis for its result_ttl (a day): bytes per job of its hash, its
    result stream and its idempotency marker (MEMORY USAGE, sampled), and the keys per job."""
    import redis

    conn = redis.Redis.from_url(url)
    jobs = [k for k in conn.scan_iter("rq:job:*", count=1000) if conn.type(k) == b"hash"][:300]
    per_job = sum(conn.memory_usage(k, samples=0) or 0 for k in jobs) / max(1, len(jobs))
    results = list(conn.scan_iter("rq:results:*", count=1000))[:300]
    per_result = sum(conn.memory_usage(k, samples=0) or 0 for k in results) / max(1, len(results))
    groups: dict[str, list[int]] = {}
    for key in conn.scan_iter("*", count=1000):
        if not key.startswith((b"rq:job:", b"rq:results:")):
            name = ":".join(key.decode(errors="replace").split(":")[:2])
            groups.setdefault(name, []).append(conn.memory_usage(key, samples=0) or 0)
    return {"redis_bytes_per_finished_job": round(per_job + per_result), "redis_jobs_sampled": len(jobs),
            "redis_used_memory_mb": round(int(conn.info("memory")["used_memory"]) / 1e6, 1),
            "redis_other_keys": {g: {"keys": len(v), "bytes_each": round(sum(v) / len(v))}
                                 for g, v in sorted(groups.items()) if len(v) > 5}}


def idle(system: LocalSystem, timeout: float = 300) -> None:
    """Wait until no job waits or runs in either service's queue."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = False
        for service in ("user", "mail"):
            text = requests.get(f"{system.urls[service]}/metrics", timeout=10).text
            for line in text.splitlines():
                if line.startswith(("macaron_task_queue_depth{", "macaron_task_started{", "macaron_task_scheduled{")) \
                        and float(line.rsplit(" ", 1)[1]) != 0:
                    busy = True
        if not busy:
            return
        time.sleep(0.5)


if __name__ == "__main__":
    raise SystemExit(main())
