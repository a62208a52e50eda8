"""Retention: old events move from the hot store into verifiable archive segments.

:class:`~chronicle.retention.run.Retention` runs the policy (``EVENT_STORE_RETENTION_DAYS``),
:mod:`.holds` keeps legal holds, :mod:`.archive` is the folder's format, :mod:`.archive_check`
verifies it offline and reads archived history.
"""
