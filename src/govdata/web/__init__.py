"""The web shell: middleware, templates, login, the home dashboard and error pages."""
