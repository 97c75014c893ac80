"""engine/remote: jobs on hosts reached over SSH (asyncssh): connect, upload, start, follow."""
