from nds.db import run_migrations_env
from nds.standards.store import metadata

run_migrations_env(metadata)
