"""The reconciler: one pass moves every run, job, instance and fleet one step.

    from fleetstack.engine.reconciler.core import Reconciler
    Reconciler(state).run_pass()        # what `dstack server` does about once a second

Each step module selects rows by status, claims them (engine/state/claims.py), acts
outside any transaction, and records the result; every status change is an event
(engine/state/events.py). A step is safe to repeat after a crash at any point:

- jobs.py: jobs whose supervisor ended get their recorded end; submitted jobs are placed
  (engine/fleets/placement.py) and started (engine/runs/starter.start_job), or fail with
  no capacity, naming the runs that hold the machine;
- runs.py: each run follows its jobs (engine/runs/lifecycle.refresh_run: statuses, retry
  with dstack's backoff, a run with no job finished);
- fleets.py: fleets idle past their idle_duration are destroyed (stack.destroy()).

The clock is injectable (`Reconciler(state, clock=...)`): tests move time, not sleep.
`dstack server` (daemon.py, loop.py) runs passes in a loop, one server per database.
"""
