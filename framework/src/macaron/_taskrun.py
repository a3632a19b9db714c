"""Compatibility shim: rq jobs enqueued before the framework was split into packages name
``macaron._taskrun.run_job``; this keeps such jobs, still waiting in Redis, runnable.

Remove it once no deployed queue can hold a job from before that release (jobs live at most
``result_ttl`` / ``failure_ttl``, 7 days by default, after their last attempt).
"""

from .tasks._run import run_job

__all__ = ["run_job"]
