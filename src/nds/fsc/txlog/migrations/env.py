from nds.db import run_migrations_env
from nds.fsc.txlog.store import metadata

run_migrations_env(metadata)
