from nds.db import run_migrations_env
from nds.logboek.tables import metadata

run_migrations_env(metadata)
