"""ink: homelab infrastructure as code.

Write a plugin in three steps:

1. an entry point in your package's ``pyproject.toml``::

       [project.entry-points.ink]
       myservice = "ink_plugin_myservice"

2. hook implementations in that module, marked with :data:`ink.hookimpl`::

       from ink import hookimpl
       from ink.models import ServiceInfo

       @hookimpl
       def ink_service_info():
           return ServiceInfo(name="myservice", title="My Service", version="1.2.3",
                              homepage="https://example.org")

3. ``pip install`` it next to ``ink-core`` and run ``ink synth``.

The hooks are documented in :mod:`ink.hookspecs` and docs/plugin-hooks.md.
"""

from ink.hookspecs import hookimpl

__all__ = ["hookimpl"]
