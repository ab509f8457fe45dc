"""Shared plumbing for the loyalty services. No business rule lives here.

The one process-wide rule this package enforces on import: psycopg must use a
wait function that cooperates with eventlet (stack-notes, pitfall 1). The
variable is read by psycopg when it is first imported, so it is set here too,
for processes whose launcher forgot it; `chassis.db` checks it again at runtime.
"""
import os
import warnings

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

# Two known notices, silenced by exact message so that every other warning
# still shows: eventlet's bugfix-only mode, nameko's import of pkg_resources.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated", category=Warning)
warnings.filterwarnings("ignore", message=r"pkg_resources is deprecated", category=UserWarning)
