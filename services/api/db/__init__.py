"""Database access of the API: reads under the agency role, core tables, access log, unsealing."""
