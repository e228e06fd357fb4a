"""Haven infrastructure: settings, secrets, embedded broker and Postgres."""
