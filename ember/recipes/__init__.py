"""Training programs behind the command line: ``mnist`` and ``gpt``."""
