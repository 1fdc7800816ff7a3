from nds.db import run_migrations_env
from nds.fsc.manager.tables import metadata

run_migrations_env(metadata)
