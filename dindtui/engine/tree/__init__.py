"""The tree of levels: the Level and what is ours, reading the trees, live updates, a level's
details."""
