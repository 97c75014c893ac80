"""engine/backends/ssh: hosts of a fleet's ssh_config, registered over SSH"""
