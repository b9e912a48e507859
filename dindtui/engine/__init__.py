"""The engine: everything that talks to Docker. Plain data out, progress through callbacks.

Never imports Textual (a unit test enforces it): the CLI and the TUI both sit on top of it.
"""
