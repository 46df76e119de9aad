"""The one exception type users see.

Anything a user can fix (a bad flag, a missing file, a model that breaks the contract) is raised as
:class:`UserError` with a message that names the problem and the fix. The CLI prints it on one line
and exits non-zero, without a traceback. Everything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem the user can fix; ``str(err)`` is the one-line message shown to them."""

    exit_code = 2
