"""Jinja2 templates: cloud-init user-data and the job script."""
