from nds.db import run_migrations_env
from nds.programme.store import metadata

run_migrations_env(metadata)
