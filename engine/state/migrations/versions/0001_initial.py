"""runs, jobs, fleets, instances

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _create_live_name_index(table: str) -> None:
    """A name is unique among the rows of a project that were not deleted."""
    op.create_index(
        f"ix_{table}_project_name_live",
        table,
        ["project", "name"],
        unique=True,
        sqlite_where=sa.text("deleted = 0"),
        postgresql_where=sa.text("deleted = false"),
    )


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("project", sa.String(100), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("configuration_path", sa.Text(), nullable=True),
        sa.Column("configuration", sa.JSON(), nullable=True),
        sa.Column("run_spec", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("termination_reason", sa.String(50), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("backend", sa.String(50), nullable=True),
        sa.Column("region", sa.String(100), nullable=True),
        sa.Column("price", sa.Float(), nullable=True),
        sa.Column("resources", sa.Text(), nullable=True),
        sa.Column("fleet_id", sa.String(36), nullable=True),
        _ts("submitted_at", nullable=False),
        _ts("last_processed_at", nullable=False),
        _ts("finished_at"),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    _create_live_name_index("runs")
    op.create_index("ix_runs_submitted_at", "runs", ["submitted_at"])
    op.create_index("ix_runs_status", "runs", ["status"])

    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("job_num", sa.Integer(), nullable=False),
        sa.Column("replica_num", sa.Integer(), nullable=False),
        sa.Column("submission_num", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("termination_reason", sa.String(50), nullable=True),
        sa.Column("exit_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("job_spec", sa.JSON(), nullable=True),
        sa.Column("instance_id", sa.String(36), nullable=True),
        sa.Column("job_dir", sa.Text(), nullable=True),
        sa.Column("log_path", sa.Text(), nullable=True),
        sa.Column("supervisor_pid", sa.Integer(), nullable=True),
        sa.Column("supervisor_host", sa.String(255), nullable=True),
        sa.Column("supervisor_token", sa.String(100), nullable=True),
        _ts("submitted_at", nullable=False),
        _ts("started_at"),
        _ts("finished_at"),
        _ts("last_processed_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_jobs_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index("ix_jobs_run_id", "jobs", ["run_id"])
    op.create_index("ix_jobs_status", "jobs", ["status"])

    op.create_table(
        "fleets",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("project", sa.String(100), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=True),
        sa.Column("backend", sa.String(50), nullable=True),
        sa.Column("stack_name", sa.String(255), nullable=True),
        sa.Column("stack_outputs", sa.JSON(), nullable=True),
        _ts("created_at", nullable=False),
        _ts("last_processed_at", nullable=False),
        _ts("idle_since"),
        _ts("terminated_at"),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleets")),
    )
    _create_live_name_index("fleets")

    op.create_table(
        "instances",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("fleet_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("instance_num", sa.Integer(), nullable=False),
        sa.Column("backend", sa.String(50), nullable=False),
        sa.Column("region", sa.String(100), nullable=True),
        sa.Column("instance_type", sa.String(100), nullable=True),
        sa.Column("spot", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("price", sa.Float(), nullable=True),
        sa.Column("resources", sa.JSON(), nullable=True),
        sa.Column("backend_data", sa.JSON(), nullable=True),
        sa.Column("hostname", sa.String(255), nullable=True),
        sa.Column("internal_ip", sa.String(64), nullable=True),
        sa.Column("ssh_user", sa.String(64), nullable=True),
        sa.Column("ssh_port", sa.Integer(), nullable=True),
        sa.Column("busy_job_id", sa.String(36), nullable=True),
        sa.Column("termination_reason", sa.Text(), nullable=True),
        _ts("created_at", nullable=False),
        _ts("last_processed_at", nullable=False),
        _ts("idle_since"),
        _ts("terminated_at"),
        sa.ForeignKeyConstraint(
            ["fleet_id"],
            ["fleets.id"],
            name=op.f("fk_instances_fleet_id_fleets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instances")),
    )
    op.create_index("ix_instances_fleet_id", "instances", ["fleet_id"])
    op.create_index("ix_instances_status", "instances", ["status"])


def downgrade() -> None:
    op.drop_table("instances")
    op.drop_table("fleets")
    op.drop_table("jobs")
    op.drop_table("runs")
