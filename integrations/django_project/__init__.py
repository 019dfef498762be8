"""The example Django project: an orders API and a checkout form behind the middleware.

Configured through the environment (see :mod:`integrations.django_project.settings`), so
the tests, the demo and ``uvicorn`` or ``gunicorn`` workers all run the same project.
"""
