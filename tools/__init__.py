"""Tools for teams that use this template as their standard (see tools/fleet.py)."""
