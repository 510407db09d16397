"""The checks, one module per AWS service. Importing this package registers every check: each
module in it is imported, so a new service module needs no registration line here."""

import importlib
import pkgutil

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")
