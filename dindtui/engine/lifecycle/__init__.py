"""A level's life: spawn, seed, exit and collapse, revive; the level image and pushes; the
privileges a level needs on each daemon."""
