"""The SQL core shared by the SQL backends: statements written once, the dialect, row mapping."""
