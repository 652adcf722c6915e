"""A minimal Django project for the benchmark: qrauth next to a baseline view."""
