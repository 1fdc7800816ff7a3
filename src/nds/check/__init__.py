"""Developer self-check: ``nds check web|mail|api``. The checks live in ``nds.standards.checks``."""
