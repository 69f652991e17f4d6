"""Course and exam content as files: schemas, the loader that collects every error, and the sync into the database."""
