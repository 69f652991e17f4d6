"""Certificate library: IDs, signing keys, snapshot signatures, signed PDFs and Open Badges.

Pure Python with no Flask imports: configuration values (key directory, URLs) arrive as parameters.
"""
