"""Classes on one server: classes, students, runs, limits and who made what, in one SQLite database."""
