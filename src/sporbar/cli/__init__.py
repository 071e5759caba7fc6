"""The ``sporbar`` command line: one group, one module per sub-command."""
