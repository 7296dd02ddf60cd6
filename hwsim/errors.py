"""The one exception type for errors a user can cause.

Kept in its own dependency-free module so every layer (numerics, workloads, rtl, costmodel)
can raise it without importing anything heavy.
"""


class HwsimError(ValueError):
    """Bad input from a user: the message says what was wrong and what is allowed.

    The CLI prints it as one line ``error: <message>`` and exits with status 2.
    It subclasses ``ValueError`` so plain-Python callers can catch it the usual way.
    """
