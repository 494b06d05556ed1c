"""Question banks in the formats the field uses (GIFT, Moodle XML, QTI 1.2/2.x/3.0, IMS content packages), read into
examsync's own content document so validation, sanitizing, ids and the versioned upsert stay
in content_document, content_markup and content_import.

Each reader takes a file's bytes and returns a `Bank` (common.py): the document plus the items it skipped. The
format of a file is found by detect.py; importer.py validates and writes a whole import at once.
"""
