"""Whether this process may write the workspace (I/O): one probe file under ``.monitoring/``.

A workspace on a read-only mount, or owned by another user, can still be read: the server and
the read-only commands keep working there, and only what writes is refused. The probe creates
and removes one empty file, the cheapest write that proves the next ones will be allowed.
"""

import os
import tempfile
from pathlib import Path

from webplatform_digest.storage.commit import reason
from webplatform_digest.storage.workspace import Workspace


def write_refusal(root: Path) -> str | None:
    """Why files cannot be created under ``root``; None when they can.

    A root that does not exist (and cannot be made) is not "read-only": it is a wrong path,
    and callers report it as one, so this returns None for it.
    """
    if not root.is_dir():
        return None
    monitoring = root / Workspace.MONITORING
    try:
        monitoring.mkdir(exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=".probe-", dir=monitoring)
    except OSError as exc:
        return reason(exc)
    os.close(handle)
    os.unlink(name)
    return None
