"""Subcommands of the ``shadow`` console script, one module each (``add_parser`` + ``run``)."""
