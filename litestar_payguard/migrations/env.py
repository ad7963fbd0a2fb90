"""Alembic's environment for payguard's own revisions: its tables only, its own version table.

Run through :mod:`litestar_payguard.migrations` (or ``litestar payguard db …``), which hands this file the
connection to migrate in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from litestar_payguard.migrations.names import VERSION_TABLE, compare_type, is_payguards, only_payguards
from litestar_payguard.models import PayGuardModel

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=PayGuardModel.metadata,
    version_table=VERSION_TABLE,
    include_name=is_payguards,
    include_object=only_payguards,
    render_as_batch=True,  # SQLite alters tables by copying them
    compare_type=compare_type,
)
with context.begin_transaction():
    context.run_migrations()
