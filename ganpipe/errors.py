"""Errors a user can act on: the CLI prints them as one line, without a traceback."""


class GanpipeError(Exception):
    """A failure whose message names the file, key or value at fault."""

    exit_code = 1


class ConfigError(GanpipeError):
    """Invalid params file or --set override."""

    exit_code = 2


class ServiceUnavailable(GanpipeError):
    """A server ganpipe needs (tracking server, Ray cluster, Prefect API) does not answer: a
    transient failure, the one kind the scheduled flows retry."""
