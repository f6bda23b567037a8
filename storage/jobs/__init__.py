"""The job system: every piece of background work of the suite (imports, training,
reports, OCR documents) is a job, run the same way.

- A **kind** (:mod:`storage.jobs.kinds`) names a queue on the EventBus, a handler and a
  policy (lease, attempts, slots per worker, limits on queued and running jobs).
- **Submitting** (:mod:`storage.jobs.submit`): after the caller validated the request, the
  limits are checked (429 with a message when over), the job row is created in the
  Database (:mod:`storage.records.jobs`) with its payload, and a task naming the job is
  queued.
- **Running** (:mod:`storage.jobs.worker`, :mod:`storage.jobs.delivery`): each process that
  runs jobs (each service's replicas) runs one worker loop over its kinds: it claims tasks
  with a lease, takes the job row for that delivery, runs the handler under a heartbeat
  that renews both leases, records progress on the row and the job's channel
  (:func:`storage.records.jobs.job_channel`), and ends the job once. A worker that stops
  hands its tasks back; one that dies has them delivered again after the lease.
- **Reaping** (:mod:`storage.jobs.reaper`): jobs a restart orphaned are re-queued or failed,
  with the reason, at start and periodically.
- **Work off the event loop** (:mod:`storage.jobs.tasks`): a handler that trains runs the
  training as Ray tasks with the suite's batch resources (or in a child process without
  Ray), never in the worker's (a replica's) own process.

It lives in ``storage`` because it is made of stores (the Database's job rows, the EventBus
queue) and is used by every layer above them: the services (``deployments``), the training
code that reports progress (``training``) and the command line (``cluster``). Handlers are
given to it by those layers; it imports none of them.
"""

from storage.jobs.errors import JobFailed, JobLimitError
from storage.jobs.kinds import JobKind, JobRun, KindPolicy
from storage.jobs.system import JobSystem
from storage.jobs.worker import Chore

__all__ = ["Chore", "JobFailed", "JobKind", "JobLimitError", "JobRun", "JobSystem",
           "KindPolicy"]
