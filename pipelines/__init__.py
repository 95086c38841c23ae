"""The jobs users run, composed from the engine, and the ``scanner`` command line."""
