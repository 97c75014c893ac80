"""The state store: schema from migrations, repository functions, checked status changes."""

from __future__ import annotations

import sqlite3
from datetime import UTC

import pytest
from fleetstack.engine.models.statuses import (
    FLEET_TRANSITIONS,
    INSTANCE_TRANSITIONS,
    JOB_TRANSITIONS,
    RUN_TRANSITIONS,
)
from fleetstack.engine.state import (
    FleetNameInUseError,
    FleetStatus,
    IllegalTransitionError,
    InstanceStatus,
    JobStatus,
    JobTerminationReason,
    RecordNotFoundError,
    RunNameInUseError,
    RunStatus,
    RunTerminationReason,
    close_all,
    create_fleet,
    create_instance,
    create_job,
    create_run,
    database_url,
    delete_run,
    finish_job,
    finish_run,
    get_fleet_by_name,
    get_job,
    get_run,
    get_run_by_name,
    instances_of_fleet,
    jobs_of_run,
    list_fleets,
    list_runs,
    open_state,
    set_fleet_status,
    set_instance_status,
    set_job_status,
    set_run_status,
    update_fleet,
    update_job,
    update_run,
)
from fleetstack.engine.state.migrations import HEAD_REVISION
from fleetstack.engine.state.models import Base
from sqlalchemy import inspect


@pytest.fixture
def state(database_url):
    """The state on SQLite and on PostgreSQL (tests/conftest.py database_url)."""
    yield open_state(database_url)
    close_all()


def test_default_database_is_state_db_in_dstack_home(isolated_home, monkeypatch):
    monkeypatch.delenv("DSTACK_DATABASE_URL", raising=False)
    assert database_url() == f"sqlite:///{isolated_home / '.dstack' / 'state.db'}"
    state = open_state()
    try:
        assert (isolated_home / ".dstack" / "state.db").exists()
    finally:
        close_all()
    assert state.schema_revision() == HEAD_REVISION


def test_database_url_env_wins_over_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("DSTACK_DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    assert database_url() == f"sqlite:///{tmp_path / 'other.db'}"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_migrations_create_the_schema_from_an_empty_file(state):
    tables = set(inspect(state.engine).get_table_names())
    assert {"runs", "jobs", "fleets", "instances", "events", "alembic_version"} <= tables
    assert state.schema_revision() == HEAD_REVISION


def test_migrated_schema_matches_the_models(state):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with state.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_head_revision_constant_matches_the_versions_folder():
    from alembic.script import ScriptDirectory
    from fleetstack.engine.state.migrations import alembic_config

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION


def test_migration_renders_for_postgresql_offline(capsys):
    from alembic import command
    from fleetstack.engine.state.migrations import alembic_config

    config = alembic_config()
    config.set_main_option("sqlalchemy.url", "postgresql://u@localhost/fleetstack")
    command.upgrade(config, "head", sql=True)
    sql = capsys.readouterr().out
    assert "CREATE TABLE runs" in sql
    assert "TIMESTAMP WITH TIME ZONE" in sql
    assert "WHERE deleted = false" in sql


def test_sqlite_runs_in_wal_mode(tmp_path):
    state = open_state(f"sqlite:///{tmp_path / 'state.db'}")
    create_run(state, name="a")
    close_all()
    conn = sqlite3.connect(tmp_path / "state.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_create_run_generates_a_dstack_like_name(state):
    run = create_run(state, configuration_path="train.dstack.yml", configuration={"type": "task"})
    adjective, animal, number = run.name.split("-")
    assert adjective.isalpha() and animal.isalpha() and number.isdigit()
    assert run.status is RunStatus.SUBMITTED
    assert run.submitted_at.tzinfo is UTC
    again = get_run_by_name(state, run.name)
    assert again == run
    assert again.configuration == {"type": "task"}


def test_generated_names_are_unique(state):
    names = {create_run(state).name for _ in range(60)}
    assert len(names) == 60


def test_name_of_an_unfinished_run_is_refused(state):
    create_run(state, name="train")
    with pytest.raises(RunNameInUseError, match="dstack stop train"):
        create_run(state, name="train")


def test_name_of_a_finished_run_is_reused(state):
    old = create_run(state, name="train")
    set_run_status(state, old.id, RunStatus.RUNNING)
    finish_run(state, old.id, RunTerminationReason.ALL_JOBS_DONE)
    new = create_run(state, name="train")
    assert get_run_by_name(state, "train").id == new.id
    assert get_run(state, old.id).deleted
    assert [r.id for r in list_runs(state)] == [new.id]


def test_list_runs_newest_first_with_limit_and_finished_filter(state):
    runs = [create_run(state, name=f"r{i}") for i in range(5)]
    finish_run(state, runs[1].id, RunTerminationReason.STOPPED_BY_USER)
    assert [r.name for r in list_runs(state)] == ["r4", "r3", "r2", "r1", "r0"]
    assert [r.name for r in list_runs(state, limit=2)] == ["r4", "r3"]
    assert "r1" not in [r.name for r in list_runs(state, include_finished=False)]


def test_run_lifecycle_sets_finished_at_and_reason(state):
    run = create_run(state, name="r")
    for status in (RunStatus.PROVISIONING, RunStatus.RUNNING, RunStatus.TERMINATING):
        run = set_run_status(state, run.id, status)
        assert run.status is status and run.finished_at is None
    run = set_run_status(
        state, run.id, RunStatus.TERMINATED, termination_reason=RunTerminationReason.STOPPED_BY_USER
    )
    assert run.finished_at is not None
    assert run.termination_reason is RunTerminationReason.STOPPED_BY_USER


def test_illegal_transitions_are_refused(state):
    run = create_run(state, name="r")
    with pytest.raises(IllegalTransitionError, match="submitted -> done"):
        set_run_status(state, run.id, RunStatus.DONE)
    finish_run(state, run.id, RunTerminationReason.JOB_FAILED)
    with pytest.raises(IllegalTransitionError, match="failed -> running"):
        set_run_status(state, run.id, RunStatus.RUNNING)
    assert get_run(state, run.id).status is RunStatus.FAILED


def test_final_statuses_are_final_in_every_table():
    for table in (RUN_TRANSITIONS, JOB_TRANSITIONS, FLEET_TRANSITIONS, INSTANCE_TRANSITIONS):
        for status, targets in table.items():
            assert set(table) >= targets
            if status.is_finished:
                assert targets == frozenset()


def test_repeated_status_is_a_no_op(state):
    run = create_run(state, name="r")
    again = set_run_status(state, run.id, RunStatus.SUBMITTED)
    assert again.status is RunStatus.SUBMITTED


def test_termination_reason_must_match_the_final_status(state):
    run = create_run(state, name="r")
    job = create_job(state, run.id)
    set_job_status(state, job.id, JobStatus.RUNNING)
    with pytest.raises(IllegalTransitionError, match="means done"):
        set_job_status(
            state, job.id, JobStatus.FAILED, termination_reason=JobTerminationReason.DONE_BY_RUNNER
        )


def test_status_is_not_updatable_directly(state):
    run = create_run(state, name="r")
    with pytest.raises(TypeError, match="status"):
        update_run(state, run.id, status="done")
    assert update_run(state, run.id, backend="aws", price=1.5).price == 1.5


def test_job_lifecycle(state):
    run = create_run(state, name="r")
    job = create_job(state, run.id, job_spec={"commands": ["echo"]})
    assert job.status is JobStatus.SUBMITTED
    job = set_job_status(state, job.id, JobStatus.RUNNING)
    assert job.started_at is not None
    job = finish_job(state, job.id, JobTerminationReason.CONTAINER_EXITED_WITH_ERROR, exit_status=3)
    assert job.status is JobStatus.FAILED
    assert job.exit_status == 3
    assert job.finished_at >= job.started_at
    with pytest.raises(IllegalTransitionError):
        set_job_status(state, job.id, JobStatus.RUNNING)


def test_jobs_of_run_latest_submission(state):
    run = create_run(state, name="r")
    first = create_job(state, run.id, job_num=0, submission_num=0)
    finish_job(state, first.id, JobTerminationReason.INTERRUPTED_BY_NO_CAPACITY)
    retry = create_job(state, run.id, job_num=0, submission_num=1)
    other = create_job(state, run.id, job_num=1)
    assert [j.id for j in jobs_of_run(state, run.id)] == [first.id, retry.id, other.id]
    assert [j.id for j in jobs_of_run(state, run.id, latest_only=True)] == [retry.id, other.id]


def test_unknown_ids_raise(state):
    with pytest.raises(RecordNotFoundError):
        set_job_status(state, "nope", JobStatus.RUNNING)
    with pytest.raises(RecordNotFoundError):
        create_job(state, "nope")
    assert get_job(state, "nope") is None


def test_delete_run_refuses_an_unfinished_run(state):
    from fleetstack.engine.errors import FleetstackError

    run = create_run(state, name="r")
    with pytest.raises(FleetstackError, match="dstack stop r"):
        delete_run(state, run.id)
    finish_run(state, run.id, RunTerminationReason.ABORTED_BY_USER)
    assert delete_run(state, run.id).deleted
    assert get_run_by_name(state, "r") is None


def test_update_job_records_the_supervisor(state):
    run = create_run(state, name="r")
    job = create_job(state, run.id)
    job = update_job(state, job.id, supervisor_pid=42, job_dir="/tmp/x")
    assert (job.supervisor_pid, job.job_dir) == (42, "/tmp/x")


def test_fleet_and_instances(state):
    fleet = create_fleet(
        state, name="gpus", spec={"nodes": 2}, backend="aws", stack_name="main-gpus"
    )
    assert fleet.status is FleetStatus.SUBMITTED
    with pytest.raises(FleetNameInUseError):
        create_fleet(state, name="gpus")
    fleet = update_fleet(state, fleet.id, stack_outputs={"public_ips": ["1.2.3.4"]})
    fleet = set_fleet_status(state, fleet.id, FleetStatus.ACTIVE)
    assert get_fleet_by_name(state, "gpus").stack_outputs == {"public_ips": ["1.2.3.4"]}

    inst = create_instance(
        state, fleet.id, name="gpus-0", backend="aws", region="us-east-1", price=1.2,
        resources={"gpus": 1},
    )  # fmt: skip
    inst = set_instance_status(state, inst.id, InstanceStatus.PROVISIONING)
    inst = set_instance_status(state, inst.id, InstanceStatus.IDLE)
    assert inst.idle_since is not None
    inst = set_instance_status(state, inst.id, InstanceStatus.BUSY, busy_job_id="j1")
    assert (inst.busy_job_id, inst.idle_since) == ("j1", None)
    inst = set_instance_status(state, inst.id, InstanceStatus.IDLE)
    assert inst.busy_job_id is None and inst.idle_since is not None
    with pytest.raises(IllegalTransitionError):
        set_instance_status(state, inst.id, InstanceStatus.PENDING)
    set_instance_status(state, inst.id, InstanceStatus.TERMINATING)
    inst = set_instance_status(state, inst.id, InstanceStatus.TERMINATED, termination_reason="idle")
    assert inst.terminated_at is not None
    assert instances_of_fleet(state, fleet.id) == []
    assert len(instances_of_fleet(state, fleet.id, include_terminated=True)) == 1

    set_fleet_status(state, fleet.id, FleetStatus.TERMINATING)
    set_fleet_status(state, fleet.id, FleetStatus.TERMINATED)
    assert list_fleets(state) == []
    assert create_fleet(state, name="gpus").name == "gpus"  # a terminated fleet frees its name


def test_naive_datetimes_are_refused(state):
    from datetime import datetime

    fleet = create_fleet(state, name="f")
    with pytest.raises(Exception, match="naive datetime"):
        update_fleet(state, fleet.id, idle_since=datetime(2026, 1, 1))


def test_database_url_setting_is_used_unless_the_env_says_otherwise(tmp_path, monkeypatch):
    monkeypatch.delenv("DSTACK_DATABASE_URL", raising=False)
    setting = f"sqlite:///{tmp_path / 'configured.db'}"
    try:
        assert open_state(database_url_setting=setting).url == setting
        monkeypatch.setenv("DSTACK_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
        assert open_state(database_url_setting=setting).url.endswith("env.db")
    finally:
        close_all()


def test_open_state_is_cached_per_url(state):
    assert open_state(state.url) is state
