"""dindtui: run and explore Docker-in-Docker, daemons nested inside containers at any depth."""

__version__ = "0.1.0"
