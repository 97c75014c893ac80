"""What runs a job: the supervisor process, its control, the job's files and log, the SSH key."""
