"""Swarm clusters made of sibling levels (clusters.py), and a swarm as a level reports it
(view.py)."""
