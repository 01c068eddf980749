"""ML project generated from the ML system template. See README.md."""

__version__ = "0.1.0"
