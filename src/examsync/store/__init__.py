"""Everything SQL: tables, engines, migrations and the unit of work."""
