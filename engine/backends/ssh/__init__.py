"""engine/backends/ssh: hosts of a fleet's ssh_config (refuses until SSH fleets are built)"""
