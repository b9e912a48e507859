"""Full-screen views and dialogs of the TUI (the main screen, help, usage, the collapse)."""
