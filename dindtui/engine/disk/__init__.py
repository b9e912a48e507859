"""Disk: usage by inode, cleanup, and the cgroups a killed level left."""
