"""Pulumi programs (one module per cloud) and the Automation API driver.

Nothing here imports the engine or the CLI; cloud SDKs are imported inside the
functions that target a cloud.
"""
