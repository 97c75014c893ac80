"""The job script's secret env values come from job.env beside it: never from the script,
only the names it lists, and the file is gone once the job ended."""

from __future__ import annotations

from fleetstack.engine.secrets import env_file_bytes

HOSTILE = 'tok\'en $(touch MARKER) `id` "q"\nline2 \\'


def test_values_come_from_job_env_and_the_file_is_deleted(job_runner, make_job, tmp_path):
    job = make_job(
        env={"TOKEN": "sha256:0123456789ab", "PLAIN": "p"},
        secret_env=["TOKEN"],
        commands=["printf '%s' \"$TOKEN\" > token.out", "printf '%s' \"${PATH_X:-unset}\" > x.out"],
    )
    env_file = tmp_path / "job.env"
    # a name the script does not list (PATH_X) is ignored, whatever the file says
    env_file.write_bytes(env_file_bytes({"TOKEN": HOSTILE, "PATH_X": "injected"}))
    script = job_runner.write(job).read_text()
    assert HOSTILE not in script and "sha256:0123456789ab" not in script

    result = job_runner.run(job)

    assert result.returncode == 0, result.stderr
    assert (result.project / "token.out").read_text() == HOSTILE
    assert (result.project / "x.out").read_text() == "unset"
    assert not env_file.exists()
    assert not list(tmp_path.rglob("MARKER"))


def test_a_missing_file_or_name_stops_the_job_before_its_commands(job_runner, make_job, tmp_path):
    job = make_job(env={"TOKEN": "d", "OTHER": "d"}, secret_env=["TOKEN", "OTHER"],
                   commands=["touch ran"])  # fmt: skip
    missing = job_runner.run(job)
    assert missing.returncode == 2
    assert f"the job's env file {tmp_path}/job.env is missing" in missing.stderr
    (tmp_path / "job.env").write_bytes(env_file_bytes({"TOKEN": "t"}))
    partial = job_runner.run(job)
    assert partial.returncode == 2
    assert f"the job's env file {tmp_path}/job.env has no value for OTHER" in partial.stderr
    assert not (job_runner.project / "ran").exists()
